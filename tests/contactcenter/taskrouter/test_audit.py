"""Worker, worker channel, task and reservation writes enter the account's audit chain with who made
them, through the API (the credential's actor) and the portal (the user); the routing process's own
transitions do not (the workspace's event log has them); the chain verifies."""

from typing import Any

from compliance.models import AuditEntry
from compliance.services import audit_chain_verify
from contactcenter.taskrouter.engine import workspace_route
from contactcenter.taskrouter.models import Activity, Event, Reservation, Worker, WorkerChannel, Workspace
from core.tenancy import tenant_activate
from tenants.models import Role
from tests.conftest import Tenant, TwilioClient
from tests.contactcenter.taskrouter.test_portal import front_desk, signed_in

V1 = "/taskrouter/v1/Workspaces"


def entries(tenant: Tenant, since: int = 0) -> list[tuple[str, str, str]]:
    """(action, object SID, actor) of the account's TaskRouter entries after sequence `since`."""
    tenant_activate(tenant.account.id)
    rows = AuditEntry.objects.filter(
        account_id=tenant.account.id, seq__gt=since, action__startswith="taskrouter."
    ).order_by("seq")
    return [(row.action.removeprefix("taskrouter."), row.object_sid, row.actor) for row in rows]


def last_seq(tenant: Tenant) -> int:
    tenant_activate(tenant.account.id)
    return max(AuditEntry.objects.filter(account_id=tenant.account.id).values_list("seq", flat=True))


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.content
    return dict(response.json())


def test_api_writes_to_workers_tasks_and_reservations_are_audited_and_routing_is_not(
    api_a: TwilioClient, tenant_a: Tenant
) -> None:
    workspace = ok(api_a.post(V1, {"FriendlyName": "Front desk", "Template": "FIFO"}))["sid"]
    ws = f"{V1}/{workspace}"
    tenant_activate(tenant_a.account.id)
    available = Activity.objects.get(workspace_id=workspace[2:], friendly_name="Available").sid
    since = last_seq(tenant_a)

    worker = ok(api_a.post(f"{ws}/Workers", {"FriendlyName": "Alice", "Attributes": "{}"}))["sid"]
    ok(api_a.post(f"{ws}/Workers/{worker}", {"ActivitySid": available, "Attributes": '{"es": true}'}))
    channel = ok(api_a.post(f"{ws}/Workers/{worker}/Channels/voice", {"Capacity": 2}))["sid"]
    task = ok(api_a.post(f"{ws}/Tasks", {"Attributes": '{"type": "support"}'}))["sid"]
    tenant_activate(tenant_a.account.id)
    workspace_route(workspace_id=Workspace.objects.get().id, account_id=tenant_a.account.id)
    tenant_activate(tenant_a.account.id)
    reservation = Reservation.objects.get().sid  # made by the routing process
    ok(api_a.post(f"{ws}/Tasks/{task}/Reservations/{reservation}", {"ReservationStatus": "accepted"}))
    ok(api_a.post(f"{ws}/Tasks/{task}", {"AssignmentStatus": "completed", "Reason": "done"}))
    assert api_a.delete(f"{ws}/Tasks/{task}").status_code == 204
    assert api_a.delete(f"{ws}/Workers/{worker}").status_code == 204

    actor = f"account:{tenant_a.sid}"
    assert entries(tenant_a, since) == [
        ("worker.create", worker, actor),
        ("worker.update", worker, actor),
        ("worker_channel.update", channel, actor),
        ("task.create", task, actor),
        ("reservation.update", reservation, actor),
        ("task.update", task, actor),
        ("task.delete", task, actor),
        ("worker.delete", worker, actor),
    ]
    assert Event.objects.filter(event_type="reservation.created", resource_sid=reservation).exists()
    assert audit_chain_verify(account_id=tenant_a.account.id).is_intact


def test_portal_writes_to_workers_are_audited_as_the_user(tenant_a: Tenant) -> None:
    client = signed_in(tenant_a, Role.SUPERVISOR)
    workspace = front_desk(tenant_a)
    available = Activity.objects.get(workspace=workspace, friendly_name="Available")
    since = last_seq(tenant_a)

    created = client.post(
        f"/routing/{workspace.sid}/workers/new/",
        {"friendly_name": "Bob", "contact_uri": "sip:bob@pbx.example.com", "attributes": "{}"},
    )
    assert created.status_code == 302, created.content
    tenant_activate(tenant_a.account.id)
    bob = Worker.objects.get(friendly_name="Bob")
    edited = client.post(
        f"/routing/{workspace.sid}/workers/{bob.sid}/",
        {"friendly_name": "Bobby", "contact_uri": "sip:bob@pbx.example.com", "attributes": "{}"},
    )
    assert edited.status_code == 302, edited.content
    moved = client.post(f"/routing/{workspace.sid}/workers/{bob.sid}/activity/", {"activity": available.id})
    assert moved.status_code == 302, moved.content

    user = f"user:{Role.SUPERVISOR}@{tenant_a.account.sid.lower()}.example"
    assert entries(tenant_a, since) == [
        ("worker.create", bob.sid, user),
        ("worker.update", bob.sid, user),
        ("worker.update", bob.sid, user),
    ]
    assert WorkerChannel.objects.filter(worker=bob).count() == 5
    assert audit_chain_verify(account_id=tenant_a.account.id).is_intact
