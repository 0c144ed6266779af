"""Inbound calls to a suspended or closed account's number, decided before any TwiML runs: through
`inbound_call_open` (the worker's service) and through the ARI worker's new-channel handling with
a stand-in for Asterisk's REST calls (the Asterisk e2e suite places real calls)."""

import asyncio
from pathlib import Path
from typing import Any

import pytest
from django.test import TestCase

from core.tenancy import tenant_activate, tenant_scope
from monitor.models import Notification, WebhookDelivery
from numbering.services import number_create
from tenants.models import Account
from tenants.services import account_update
from tests.conftest import Tenant, make_subaccount, make_tenant
from voice.call_setup import CallSetup
from voice.inbound import InboundRefused, inbound_call_open
from voice.models import Call, MediaServer
from voice.worker import VoiceWorker

BRANCH_LINE = "+12025550160"
CALLER = "+14155550123"


@pytest.fixture
def branch(tenant_a: Tenant) -> Tenant:
    """Tenant A's subaccount, whose number has a voice URL and a status callback."""
    sub = make_subaccount(tenant_a, "Branch")
    tenant_activate(sub.account.id)
    number_create(
        account=sub.account,
        actor="test",
        phone_number=BRANCH_LINE,
        voice_url="https://branch.example/voice",
        status_callback="https://branch.example/status",
    )
    return sub


def set_status(parent: Tenant, sub: Tenant, status: str) -> None:
    with tenant_scope(sub.account.id):
        account = Account.objects.get(id=sub.account.id)
        account_update(
            account=account, principal=parent.account, actor="test", friendly_name=None, status=status
        )


def call_in(channel_id: str = "ch-1") -> CallSetup | InboundRefused | None:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return inbound_call_open(
            from_number=CALLER, dialled=BRANCH_LINE, channel_id=channel_id, media_server_id=None
        )


def test_a_suspended_accounts_call_is_refused_unanswered_and_logged_as_10003(
    tenant_a: Tenant, branch: Tenant
) -> None:
    set_status(tenant_a, branch, "suspended")
    refused = call_in()
    assert isinstance(refused, InboundRefused)
    tenant_activate(branch.account.id)
    call = Call.objects.get(id=refused.call_id)
    assert (call.sid, call.status, call.answered_at, call.direction) == (
        refused.call_sid,
        "failed",
        None,
        "inbound",
    )
    assert call.end_time is not None
    (logged,) = Notification.objects.all()
    assert (logged.error_code, logged.call_sid, logged.log) == (10003, call.sid, Notification.Log.ERROR)
    assert not WebhookDelivery.objects.exists()  # not even the status callback


def test_a_suspended_parents_subaccount_is_refused(tenant_a: Tenant, branch: Tenant) -> None:
    tenant_activate(tenant_a.account.id)
    Account.objects.filter(id=tenant_a.account.id).update(status="suspended")  # the operator's doing
    assert isinstance(call_in(), InboundRefused)


def test_reactivating_restores_inbound_calls(tenant_a: Tenant, branch: Tenant) -> None:
    set_status(tenant_a, branch, "suspended")
    assert isinstance(call_in("ch-1"), InboundRefused)
    set_status(tenant_a, branch, "active")
    setup = call_in("ch-2")
    assert isinstance(setup, CallSetup) and setup.url == "https://branch.example/voice"


def test_a_closed_accounts_number_is_unknown(tenant_a: Tenant, branch: Tenant) -> None:
    set_status(tenant_a, branch, "closed")
    assert call_in() is None
    tenant_activate(branch.account.id)
    assert not Call.objects.exists()


def test_a_closed_parents_subaccount_is_unknown(tenant_a: Tenant, branch: Tenant) -> None:
    tenant_activate(tenant_a.account.id)
    Account.objects.filter(id=tenant_a.account.id).update(status="closed")
    assert call_in() is None


class StandInAri:
    """What the worker asks of Asterisk's REST interface here: answering and hanging up."""

    def __init__(self) -> None:
        self.answered: list[str] = []
        self.hung_up: list[tuple[str, str]] = []

    async def answer(self, channel_id: str) -> None:
        self.answered.append(channel_id)

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        self.hung_up.append((channel_id, reason))


def test_the_worker_rejects_a_suspended_accounts_call_without_answering(
    django_db_setup: None, django_db_blocker: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    line = "+12125550177"
    with django_db_blocker.unblock():  # the worker's database calls run in threads: commit
        parent = make_tenant("Worker clinic")
        with tenant_scope(parent.account.id):
            sub = make_subaccount(parent, "Worker branch")
        with tenant_scope(sub.account.id):
            number_create(
                account=sub.account, actor="test", phone_number=line, voice_url="http://127.0.0.1:9/"
            )
        set_status(parent, sub, "suspended")

        server = MediaServer(name="refusal", sounds_dir=str(tmp_path))
        server.set_ari_password("unused")
        worker = VoiceWorker(server)
        ari = StandInAri()
        monkeypatch.setattr(worker.client, "answer", ari.answer)
        monkeypatch.setattr(worker.client, "hangup", ari.hangup)
        channel = {"id": "ch-suspended", "dialplan": {"exten": line[1:]}, "caller": {"number": CALLER[1:]}}

        async def new_channel() -> None:
            worker._on_new_channel({"channel": channel, "args": ["inbound"]})
            try:
                await asyncio.wait_for(asyncio.gather(*worker.tasks), 15)
            finally:
                await worker.http.aclose()
                await worker.client.close()

        asyncio.run(new_channel())
        assert ari.answered == [] and ari.hung_up == [("ch-suspended", "normal")]
        assert worker.inbound_in_flight == 0
        with tenant_scope(sub.account.id):
            call = Call.objects.get(channel_id="ch-suspended")
            assert call.status == "failed" and call.answered_at is None
            assert list(Notification.objects.values_list("error_code", flat=True)) == [10003]
