import pytest
from twilio.rest.taskrouter.v1 import V1

from tests.conftest import Tenant, make_tenant
from tests.contactcenter.taskrouter.factories import Setup, make_workspace
from tests.contactcenter.taskrouter.sdk import taskrouter


@pytest.fixture
def setup(tenant_a: Tenant) -> Setup:
    return make_workspace(tenant_a.account)


@pytest.fixture
def clinic(django_db_blocker: pytest.FixtureRequest) -> Tenant:
    """A tenant committed for the server's process to see (the SDK tests)."""
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        return make_tenant("TaskRouter clinic")


@pytest.fixture
def hotel(django_db_blocker: pytest.FixtureRequest) -> Tenant:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        return make_tenant("TaskRouter hotel")


@pytest.fixture
def tr(server: str, clinic: Tenant) -> V1:
    """The clinic's TaskRouter client."""
    return taskrouter(server, clinic)
