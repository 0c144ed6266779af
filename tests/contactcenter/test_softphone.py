"""The softphone's credentials against a real Asterisk: issued through the portal to the signed-in
member's worker only, pushed over ARI, good for a SIP REGISTER over WSS until the next issue revokes
them; `client:` addresses resolve only to the calling account's workers."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.db import transaction
from django.test import Client

from contactcenter.softphone import (
    client_address_check,
    softphone_address,
    softphone_credentials_issue,
    worker_softphone_endpoint,
)
from contactcenter.taskrouter.models import Worker
from contactcenter.taskrouter.workers import worker_delete, worker_member_set
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.tenancy import tenant_activate
from mediaserver.asterisk import AsteriskInstance
from mediaserver.softphones import softphone_objects
from tenants.models import Membership, Role
from tenants.services import membership_add, user_create
from tests.conftest import Tenant, make_tenant
from tests.contactcenter.sip_ws import register
from tests.contactcenter.taskrouter.factories import make_workspace
from voice.clients import client_endpoint
from voice.models import MediaServer

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery"


@dataclass
class Agent:
    tenant: Tenant
    membership: Membership
    worker: Worker
    email: str


def make_agent(name: str, *, has_worker: bool = True) -> Agent:
    """A committed tenant with a signed-in-able agent, working as worker `name` (or as none)."""
    tenant = make_tenant(f"{name} clinic")
    email = f"{name.lower()}-{uuid.uuid4().hex[:8]}@softphone.example"  # users outlive the test
    with transaction.atomic():
        tenant_activate(tenant.account.id)
        membership = membership_add(
            account=tenant.account,
            user=user_create(email=email, password=PASSWORD),
            role=Role.AGENT,
            actor="t",
        )
        worker = make_workspace(tenant.account).worker(name)
        if has_worker:
            worker.member = membership
            worker.save(update_fields=["member"])
    return Agent(tenant, membership, worker, email)


@pytest.fixture
def phone_server(
    asterisk: AsteriskInstance, media_server: MediaServer, settings: pytest.FixtureRequest
) -> AsteriskInstance:
    settings.SOFTPHONE_MEDIA_SERVER = media_server.name  # type: ignore[attr-defined]
    return asterisk


@pytest.fixture
def agents(django_db_blocker: pytest.FixtureRequest) -> Iterator[tuple[Agent, Agent]]:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        yield make_agent("Alice"), make_agent("Mallory")


def signed_in(agent: Agent) -> Client:
    client = Client()
    assert client.post("/login/", {"email": agent.email, "password": PASSWORD}).status_code == 302
    return client


def test_issued_credentials_register_and_the_next_issue_revokes_them(
    phone_server: AsteriskInstance, agents: tuple[Agent, Agent], django_db_blocker: pytest.FixtureRequest
) -> None:
    alice, _ = agents
    with django_db_blocker.unblock(), transaction.atomic():  # type: ignore[attr-defined]
        tenant_activate(alice.tenant.account.id)
        first = softphone_credentials_issue(membership=alice.membership, actor="test")
    assert first.ws_url == phone_server.wss_url
    assert (first.username, first.address) == (alice.worker.sid, f"client:{alice.worker.sid}")
    assert first.sip_uri == f"sip:{alice.worker.sid}@127.0.0.1"

    assert register(first.ws_url, username=first.username, password=first.password) == 200
    assert register(first.ws_url, username=first.username, password="guessed") == 401

    with django_db_blocker.unblock(), transaction.atomic():  # type: ignore[attr-defined]
        tenant_activate(alice.tenant.account.id)
        second = softphone_credentials_issue(membership=alice.membership, actor="test")
    assert second.password != first.password
    assert register(first.ws_url, username=first.username, password=first.password) == 401  # revoked
    assert register(second.ws_url, username=second.username, password=second.password) == 200
    endpoint = phone_server.rx(f"pjsip show endpoint {alice.worker.sid}")
    for setting in ("ice_support                        : true", "media_encryption                   : dtls"):
        assert setting in endpoint
    assert "dtls_rekey                         : 0" in endpoint


def test_credentials_outlive_an_asterisk_restart_but_not_the_member_or_the_worker(
    phone_server: AsteriskInstance, agents: tuple[Agent, Agent], django_db_blocker: pytest.FixtureRequest
) -> None:
    """Pushed endpoints live in the instance's astdb: a restarted Asterisk takes the browser's next
    REGISTER with the same password. A worker whose member changes, or which is deleted, has its
    endpoint taken out once that commits."""
    issued = []
    for agent in agents:
        with django_db_blocker.unblock(), transaction.atomic():  # type: ignore[attr-defined]
            tenant_activate(agent.tenant.account.id)
            issued.append(softphone_credentials_issue(membership=agent.membership, actor="test"))
    alice, mallory = issued

    phone_server.stop()
    phone_server.start(timeout=30)
    for credentials in (alice, mallory):
        assert (
            register(credentials.ws_url, username=credentials.username, password=credentials.password) == 200
        )

    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        with transaction.atomic():
            tenant_activate(agents[0].tenant.account.id)
            worker_member_set(worker=agents[0].worker, member=None, actor="test")
        with transaction.atomic():
            tenant_activate(agents[1].tenant.account.id)
            worker_delete(worker=agents[1].worker)
    endpoints = phone_server.rx("pjsip list endpoints")
    for credentials in (alice, mallory):
        assert credentials.username not in endpoints
        assert (
            register(credentials.ws_url, username=credentials.username, password=credentials.password) != 200
        )


def test_the_portal_gives_credentials_to_the_members_own_worker_only(
    phone_server: AsteriskInstance, agents: tuple[Agent, Agent], django_db_blocker: pytest.FixtureRequest
) -> None:
    alice, mallory = agents
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        as_alice, as_mallory = signed_in(alice), signed_in(mallory)
        issued = as_alice.post("/console/phone/credentials/")
        # Another tenant's agent naming Alice's worker gets nothing of hers.
        refused = as_mallory.post("/console/phone/credentials/", {"worker": alice.worker.sid})
        got_get = as_alice.get("/console/phone/credentials/")
        signed_out = Client().post("/console/phone/credentials/")
        unlinked = make_agent("Bob", has_worker=False)
        no_worker = signed_in(unlinked).post("/console/phone/credentials/")

    assert issued.status_code == 200 and issued["Cache-Control"] == "no-store"
    body = issued.json()
    assert body["username"] == alice.worker.sid and body["ice_servers"] == []
    assert register(body["ws_url"], username=body["username"], password=body["password"]) == 200
    assert refused.status_code == 403 and alice.worker.sid not in refused.content.decode()
    assert got_get.status_code == 405
    assert signed_out.status_code == 302
    assert no_worker.status_code == 403 and "no worker" in no_worker.json()["message"]


def test_a_client_address_is_the_calling_accounts_worker_only(
    agents: tuple[Agent, Agent], django_db_blocker: pytest.FixtureRequest
) -> None:
    alice, mallory = agents
    address = softphone_address(alice.worker)
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        assert (
            worker_softphone_endpoint(alice.tenant.account.id, alice.worker.sid)
            == f"PJSIP/{alice.worker.sid}"
        )
        assert (
            client_endpoint(account_id=alice.tenant.account.id, address=address)
            == f"PJSIP/{alice.worker.sid}"
        )
        assert client_endpoint(account_id=mallory.tenant.account.id, address=address) is None
        assert client_endpoint(account_id=alice.tenant.account.id, address="client:WKnot-a-sid") is None
        with transaction.atomic():
            tenant_activate(mallory.tenant.account.id)
            with pytest.raises(TwilioError) as refused:
                client_address_check(
                    account_id=mallory.tenant.account.id, address=address, code=ErrorCode.TASKROUTER_DEQUEUE
                )
    assert (
        refused.value.twilio_code == ErrorCode.TASKROUTER_DEQUEUE
        and "not a worker of this account" in str(refused.value.message)
    )


def test_the_pushed_endpoint_is_webrtc_without_rekey_and_hangs_up_a_silent_browser() -> None:
    objects = dict(softphone_objects(name="WKabc", password="pw", rtp_timeout_s=30))

    assert objects["auth"] == {"auth_type": "userpass", "username": "WKabc", "password": "pw"}
    assert objects["aor"] == {"max_contacts": "1", "remove_existing": "yes"}
    endpoint = objects["endpoint"]
    assert endpoint["webrtc"] == endpoint["dtls_auto_generate_cert"] == "yes"
    assert (endpoint["direct_media"], endpoint["allow"], endpoint["context"]) == (
        "no",
        "ulaw,opus",
        "from-softphone",
    )
    assert int(endpoint["rtp_timeout"]) == 30 and "dtls_rekey" not in endpoint
