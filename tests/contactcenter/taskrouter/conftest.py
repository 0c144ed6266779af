import pytest

from tests.conftest import Tenant
from tests.contactcenter.taskrouter.factories import Setup, make_workspace


@pytest.fixture
def setup(tenant_a: Tenant) -> Setup:
    return make_workspace(tenant_a.account)
