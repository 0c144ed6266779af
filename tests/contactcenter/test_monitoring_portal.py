"""Monitoring from the board, short of Asterisk: who may, which call, what is written and audited, what
the ARI workers are told, and the board's buttons. The calls are rows here; the real calls are in
test_monitoring_calls.py."""

import json
from typing import Any

import pytest
from django.test import Client

from compliance.models import AuditEntry
from contactcenter.taskrouter.engine import workspace_route
from contactcenter.taskrouter.models import Reservation, Worker, Workspace
from contactcenter.taskrouter.reservations import reservation_update
from contactcenter.taskrouter.task_lifecycle import task_create
from core.tenancy import tenant_activate
from tenants.models import Membership, Role
from tenants.services import membership_add, user_create
from tests.conftest import Tenant
from tests.contactcenter.taskrouter.test_portal import PASSWORD, front_desk, signed_in, worker
from voice import control_channel
from voice.call_state import call_finish
from voice.models import Call, CallMonitor

PHONE = "sip:sam@127.0.0.1:5999"


def live_call(tenant: Tenant, *, with_leg: bool = True) -> tuple[Call, Call | None]:
    """A caller's call in progress on a media server and, put through to an agent, its `<Dial>` leg."""
    tenant_activate(tenant.account.id)
    call = Call(
        account=tenant.account,
        direction=Call.Direction.INBOUND,
        from_number="+15557654321",
        to_number="+12065550100",
        status=Call.Status.IN_PROGRESS,
    )
    call.channel_id = call.sid
    call.save()
    if not with_leg:
        return call, None
    leg = Call(
        account=tenant.account,
        parent_call=call,
        direction=Call.Direction.OUTBOUND_DIAL,
        from_number="+12065550100",
        to_number="sip:alice@127.0.0.1:5998",
        status=Call.Status.INITIATED,  # as a live leg's row reads until it ends
    )
    leg.channel_id = leg.sid
    leg.save()
    return call, leg


def supervisor(tenant: Tenant, role: Role = Role.SUPERVISOR, phone: str = PHONE) -> Client:
    """A member signed in with `role`, working as a worker whose contact is `phone`."""
    client = signed_in(tenant, role)
    workspace = Workspace.objects.filter(account_id=tenant.account.id).first() or front_desk(tenant)
    sam = worker(workspace, f"Sam {role}", contact_uri=phone)
    Worker.objects.filter(id=sam.id).update(member=Membership.objects.get(account=tenant.account, role=role))
    return client


def call_accepted(workspace: Workspace, call: Call) -> Reservation:
    """The call's voice task routed to an available worker, who accepts it (the board's busy row)."""
    tenant_activate(workspace.account_id)
    task_create(
        workspace=workspace,
        workflow_sid=None,
        attributes=json.dumps({"call_sid": call.sid}),
        priority=None,
        timeout=None,
        task_channel="voice",
    )
    workspace_route(workspace_id=workspace.id, account_id=workspace.account_id)
    tenant_activate(workspace.account_id)
    reservation = Reservation.objects.get(task__attributes_json__call_sid=call.sid)
    return reservation_update(reservation=reservation, status=Reservation.Status.ACCEPTED)


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(control_channel, "publish", lambda server, command: sent.append(dict(command)))
    return sent


def audited(tenant: Tenant) -> list[tuple[str, str]]:
    return list(
        AuditEntry.objects.filter(account_id=tenant.account.id, action__startswith="call.monitor.")
        .order_by("seq")
        .values_list("action", "object_sid")
    )


def test_a_supervisor_starts_a_monitor_of_the_agents_leg_audited_and_sent_to_the_worker(
    tenant_a: Tenant, published: list[dict[str, Any]], django_capture_on_commit_callbacks: Any
) -> None:
    call, leg = live_call(tenant_a)
    assert leg is not None
    client = supervisor(tenant_a)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/console/monitor/", {"call": call.sid, "mode": "listen"})

    assert response.status_code == 201
    body = response.json()
    assert body["mode"] == "listen" and body["status"] == "connecting" and body["call_sid"] == leg.sid
    tenant_activate(tenant_a.account.id)
    monitor = CallMonitor.objects.get()
    assert (monitor.call_id, monitor.target, monitor.sid) == (leg.id, PHONE, body["sid"])
    assert audited(tenant_a) == [("call.monitor.start", leg.sid)]
    [command] = published
    assert command["op"] == "start" and command["whisper"] == "none"  # listening is silent
    assert (command["call_sid"], command["channel_id"]) == (call.sid, leg.channel_id)
    assert command["target"] == PHONE and command["caller_id"] == "+12065550100"


def test_modes_switch_and_stop_each_audited_and_each_told_to_the_worker(
    tenant_a: Tenant, published: list[dict[str, Any]], django_capture_on_commit_callbacks: Any
) -> None:
    call, leg = live_call(tenant_a)
    client = supervisor(tenant_a)
    with django_capture_on_commit_callbacks(execute=True):
        sid = client.post("/console/monitor/", {"call": call.sid, "mode": "listen"}).json()["sid"]
        whisper = client.post(f"/console/monitor/{sid}/mode", {"mode": "whisper"})
        barge = client.post(f"/console/monitor/{sid}/mode", {"mode": "barge"})
        stop = client.post(f"/console/monitor/{sid}/stop")
        again = client.post(f"/console/monitor/{sid}/stop")
        late = client.post(f"/console/monitor/{sid}/mode", {"mode": "listen"})

    assert (whisper.json()["mode"], barge.json()["mode"]) == ("whisper", "barge")
    assert stop.json()["status"] == "ended"
    assert again.status_code == 200 and late.status_code == 400 and late.json()["code"] == 21220
    assert [(c["op"], c["whisper"]) for c in published] == [
        ("start", "none"),
        ("change", "out"),
        ("change", "both"),
        ("stop", "both"),
    ]
    tenant_activate(tenant_a.account.id)
    assert [action for action, _ in audited(tenant_a)] == [
        "call.monitor.start",
        "call.monitor.change",
        "call.monitor.change",
        "call.monitor.stop",
    ]


def test_another_tenants_supervisor_is_refused_as_not_found_and_the_refusal_audited(
    tenant_a: Tenant,
    tenant_b: Tenant,
    published: list[dict[str, Any]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    call, _ = live_call(tenant_a)
    intruder = supervisor(tenant_b)

    with django_capture_on_commit_callbacks(execute=True):
        response = intruder.post("/console/monitor/", {"call": call.sid, "mode": "listen"})

    assert response.status_code == 404
    assert response.json() == {
        "code": 20404,
        "message": f"The requested resource Call {call.sid} was not found",
        "more_info": "https://www.twilio.com/docs/errors/20404",
        "status": 404,
    }
    assert published == []
    tenant_activate(tenant_b.account.id)
    assert audited(tenant_b) == [("call.monitor.refused", call.sid)]
    entry = AuditEntry.objects.get(account_id=tenant_b.account.id, action="call.monitor.refused")
    assert entry.actor.startswith("user:supervisor@")
    tenant_activate(tenant_a.account.id)
    assert CallMonitor.objects.count() == 0 and audited(tenant_a) == []


def test_another_supervisors_monitor_is_not_found(tenant_a: Tenant, published: list[dict[str, Any]]) -> None:
    call, _ = live_call(tenant_a)
    sid = supervisor(tenant_a).post("/console/monitor/", {"call": call.sid, "mode": "listen"}).json()["sid"]
    membership_add(
        account=tenant_a.account,
        user=user_create(email="sue@example.com", password=PASSWORD),
        role=Role.SUPERVISOR,
        actor="t",
    )
    sue = Client()
    assert sue.post("/login/", {"email": "sue@example.com", "password": PASSWORD}).status_code == 302
    response = sue.post(f"/console/monitor/{sid}/stop")
    assert response.status_code == 404 and response.json()["code"] == 20404


@pytest.mark.parametrize("role", [Role.AGENT, Role.DEVELOPER, Role.AUDITOR])
def test_only_supervisors_admins_and_owners_monitor(tenant_a: Tenant, role: Role) -> None:
    call, _ = live_call(tenant_a)
    response = supervisor(tenant_a, role).post("/console/monitor/", {"call": call.sid, "mode": "listen"})
    assert response.status_code == 403
    tenant_activate(tenant_a.account.id)
    assert CallMonitor.objects.count() == 0


@pytest.mark.parametrize(
    ("form", "code", "phone"),
    [
        ({"mode": "spy"}, 20422, PHONE),
        ({"mode": "listen"}, 20422, ""),  # nowhere to ring the supervisor
        ({"mode": "listen", "ended": "1"}, 21220, PHONE),
        ({"mode": "listen", "call": "CAnot-a-sid"}, 20404, PHONE),
    ],
)
def test_bad_requests_are_refused_in_twilios_format_with_nothing_written(
    tenant_a: Tenant, published: list[dict[str, Any]], form: dict[str, str], code: int, phone: str
) -> None:
    call, _ = live_call(tenant_a)
    if form.pop("ended", ""):
        Call.objects.filter(id=call.id).update(status=Call.Status.COMPLETED)
    client = supervisor(tenant_a, phone=phone)
    response = client.post("/console/monitor/", {"call": call.sid, **form})
    assert response.json()["code"] == code
    tenant_activate(tenant_a.account.id)
    assert CallMonitor.objects.count() == 0 and published == []


def test_the_board_offers_listen_whisper_and_barge_on_a_worker_who_is_on_a_call(tenant_a: Tenant) -> None:
    call, _ = live_call(tenant_a)
    workspace = front_desk(tenant_a)
    alice = worker(workspace, "Alice", "Available")
    bob = worker(workspace, "Bob", "Available")
    reservation = call_accepted(workspace, call)
    busy, idle = (alice, bob) if reservation.worker_id == alice.id else (bob, alice)

    page = supervisor(tenant_a).get(f"/routing/{workspace.sid}/").content.decode()

    busy_row = page.split(f'data-worker="{busy.sid}"')[1].split("</tr>")[0]
    idle_row = page.split(f'data-worker="{idle.sid}"')[1].split("</tr>")[0]
    assert f'data-monitor-call="{call.sid}"' in busy_row
    assert [m for m in ("listen", "whisper", "barge") if f'data-monitor-mode="{m}"' in busy_row] == [
        "listen",
        "whisper",
        "barge",
    ]
    assert "data-monitor-call" not in idle_row
    assert "contactcenter/monitor.js" in page


def test_a_monitored_call_ending_ends_its_monitors_audited_as_the_platforms(
    tenant_a: Tenant, published: list[dict[str, Any]]
) -> None:
    """However the call ends (its worker's reconciliation after a restart, say), its monitors end in
    that transaction."""
    call, leg = live_call(tenant_a)
    assert leg is not None
    supervisor(tenant_a).post("/console/monitor/", {"call": call.sid, "mode": "whisper"})
    tenant_activate(tenant_a.account.id)

    assert call_finish(account_id=tenant_a.account.id, call_id=leg.id, status="failed", reason="restarted")

    tenant_activate(tenant_a.account.id)
    monitor = CallMonitor.objects.get()
    assert (monitor.status, monitor.end_reason) == ("ended", "The call ended") and monitor.ended_at
    assert [action for action, _ in audited(tenant_a)] == ["call.monitor.start", "call.monitor.end"]
