"""The console's call-control endpoints without a media server: who may act on an agent's call (the
agent on it, a supervisor; not another agent, not another tenant), what a transfer target may be,
errors in Twilio's body, each action audited and sent to the call's worker over Redis."""

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.conf import settings
from django.test import Client

from compliance.models import AuditEntry
from contactcenter.call_control import CONTROL
from contactcenter.taskrouter.models import Reservation, Worker
from contactcenter.taskrouter.reservations import reservation_update
from contactcenter.taskrouter.task_lifecycle import task_create
from core.tenancy import tenant_activate
from tenants.models import Membership, Role
from tenants.services import membership_add, user_create
from tests.conftest import Tenant
from tests.contactcenter.taskrouter.factories import Setup, make_workspace
from tests.contactcenter.test_queue_call_ended import _live_call
from voice.control_channel import server_channel
from voice.models import Call

PASSWORD = "pw-123456789"


def _member(tenant: Tenant, name: str, role: Role) -> tuple[Membership, Client]:
    email = f"{name}@{tenant.account.sid.lower()}.example"
    tenant_activate(tenant.account.id)
    member = membership_add(
        account=tenant.account, user=user_create(email=email, password=PASSWORD), role=role, actor="t"
    )
    client = Client()
    assert client.post("/login/", {"email": email, "password": PASSWORD}).status_code == 302
    tenant_activate(tenant.account.id)
    return member, client


def _agent_call(tenant: Tenant, member: Membership) -> tuple[Call, Setup, Reservation]:
    """A live inbound call whose task Alice (the member's worker) accepted."""
    tenant_activate(tenant.account.id)
    setup = make_workspace(tenant.account)
    queue = setup.queue("Everyone")
    workflow = setup.workflow({"filters": [], "default_filter": {"queue": queue.sid}})
    alice = setup.worker("Alice", {"contact_uri": "sip:alice@127.0.0.1:5999"})
    Worker.objects.filter(id=alice.id).update(member=member)
    call = _live_call(tenant)
    task = task_create(
        workspace=setup.workspace,
        workflow_sid=workflow.sid,
        attributes=json.dumps({"call_sid": call.sid}),
        priority=None,
        timeout=None,
        task_channel="voice",
    )
    assert setup.offered() == 1
    reservation = Reservation.objects.get(task=task)
    reservation_update(reservation=reservation, status=Reservation.Status.ACCEPTED)
    return call, setup, reservation


@pytest.fixture
def commands() -> Iterator[Any]:
    """The commands the ARI workers would hear (a call with no media server: its channel is None's)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(server_channel(None))
    yield pubsub
    pubsub.close()


def _next_command(pubsub: Any, wait_s: float = 2.0) -> dict[str, Any] | None:
    """The next command sent, None if none within `wait_s` (the subscription's own reply read past)."""
    deadline = time.monotonic() + wait_s
    while (left := deadline - time.monotonic()) > 0:
        message = pubsub.get_message(timeout=left)
        if message is not None:
            return dict(json.loads(message["data"]))
    return None


def _audited(call: Call) -> list[str]:
    return list(
        AuditEntry.objects.filter(object_sid=call.sid, action__startswith="call_control.")
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_the_agent_on_the_call_holds_it_and_the_command_reaches_the_calls_worker(
    tenant_a: Tenant, commands: Any
) -> None:
    member, console = _member(tenant_a, "alice", Role.AGENT)
    call, _, reservation = _agent_call(tenant_a, member)
    response = console.post(f"/console/calls/{call.sid}/hold")
    assert response.status_code == 202
    assert response.json() == {"status": "sent", "action": "hold", "call_sid": call.sid}
    command = _next_command(commands)
    assert command is not None
    assert (command["action"], command["name"], command["call_sid"]) == ("signal", CONTROL, call.sid)
    assert command["payload"] == {"action": "hold", "reservation_id": str(reservation.id)}
    tenant_activate(tenant_a.account.id)
    assert _audited(call) == ["call_control.hold"]
    entry = AuditEntry.objects.get(object_sid=call.sid, action="call_control.hold")
    assert entry.actor == f"user:alice@{tenant_a.account.sid.lower()}.example"


def test_a_blind_transfer_to_a_queue_names_the_target_and_a_supervisor_may_send_it(
    tenant_a: Tenant, commands: Any
) -> None:
    member, _ = _member(tenant_a, "alice", Role.AGENT)
    call, setup, _ = _agent_call(tenant_a, member)
    tenant_activate(tenant_a.account.id)
    queue = setup.queue("Billing")
    _, supervisor = _member(tenant_a, "sam", Role.SUPERVISOR)
    response = supervisor.post(f"/console/calls/{call.sid}/transfer", {"to": queue.sid, "mode": "blind"})
    assert response.status_code == 202
    assert response.json()["kind"] == "queue"
    command = _next_command(commands)
    assert command is not None
    payload = command["payload"]
    assert (payload["action"], payload["kind"], payload["to"], payload["mode"]) == (
        "transfer",
        "queue",
        queue.sid,
        "blind",
    )


def test_another_agent_may_not_control_the_call_and_nothing_is_sent(tenant_a: Tenant, commands: Any) -> None:
    member, _ = _member(tenant_a, "alice", Role.AGENT)
    call, _, _ = _agent_call(tenant_a, member)
    _, bob = _member(tenant_a, "bob", Role.AGENT)
    response = bob.post(f"/console/calls/{call.sid}/hold")
    assert response.status_code == 403
    assert response.json()["code"] == 20003 and "Only the agent" in response.json()["message"]
    assert _next_command(commands, 0.5) is None
    tenant_activate(tenant_a.account.id)
    assert _audited(call) == []


def test_an_agents_call_is_invisible_to_other_tenant(tenant_a: Tenant, tenant_b: Tenant) -> None:
    member, _ = _member(tenant_a, "alice", Role.AGENT)
    call, _, _ = _agent_call(tenant_a, member)
    _, stranger = _member(tenant_b, "sam", Role.SUPERVISOR)
    response = stranger.post(f"/console/calls/{call.sid}/hold")
    assert (response.status_code, response.json()["code"]) == (404, 20404)


@pytest.mark.parametrize(
    ("form", "status", "code"),
    [
        ({"to": "hello", "mode": "blind"}, 400, 21211),
        ({"to": "WK" + "0" * 32, "mode": "blind"}, 404, 20404),
        ({"to": "+14155550100", "mode": "sideways"}, 400, 20422),
        ({"to": "sip:x@10.1.2.3", "mode": "blind"}, 400, 11205),  # the destination policy's refusal
    ],
)
def test_a_bad_transfer_target_is_refused_in_twilios_format_and_nothing_is_sent(
    tenant_a: Tenant, commands: Any, form: dict[str, str], status: int, code: int
) -> None:
    member, console = _member(tenant_a, "alice", Role.AGENT)
    call, _, _ = _agent_call(tenant_a, member)
    response = console.post(f"/console/calls/{call.sid}/transfer", form)
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert set(response.json()) == {"code", "message", "more_info", "status"}
    assert _next_command(commands, 0.5) is None
    tenant_activate(tenant_a.account.id)
    assert _audited(call) == []


def test_a_warm_transfer_to_a_queue_is_refused(tenant_a: Tenant) -> None:
    member, console = _member(tenant_a, "alice", Role.AGENT)
    call, setup, _ = _agent_call(tenant_a, member)
    tenant_activate(tenant_a.account.id)
    queue_sid = setup.queue("Billing").sid
    response = console.post(f"/console/calls/{call.sid}/transfer", {"to": queue_sid, "mode": "warm"})
    assert (response.status_code, response.json()["code"]) == (400, 20422)


def test_signed_out_unknown_actions_and_gets_are_refused_as_json(tenant_a: Tenant) -> None:
    member, console = _member(tenant_a, "alice", Role.AGENT)
    call, _, _ = _agent_call(tenant_a, member)
    assert Client().post(f"/console/calls/{call.sid}/hold").status_code == 401
    assert console.post(f"/console/calls/{call.sid}/park").json()["code"] == 20404
    assert console.get(f"/console/calls/{call.sid}/hold").status_code == 405
    ended = console.post(f"/console/calls/CA{'0' * 32}/hold")
    assert (ended.status_code, ended.json()["code"]) == (404, 20404)
