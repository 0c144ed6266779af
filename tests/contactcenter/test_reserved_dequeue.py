"""`<Dial><Queue reservationSid>`'s transactions: the reservation's own caller claimed wherever it is
in line, the reservation held pending (it cannot time out meanwhile), or nothing changed with
Twilio's 14215 (`voice_task_claim`); accepted once the caller is bridged (`voice_task_answered`), or,
when the worker's call ends first, the caller back in line and the task offered again with its age
(`voice_task_claim_released`). The real calls are in test_voice_routing.py."""

import uuid

import pytest

from contactcenter.members import Claimed, queue_member_enqueue, queue_member_leave
from contactcenter.models import QueueMember
from contactcenter.taskrouter.models import Reservation, Task
from contactcenter.taskrouter.reservations import reservation_update
from contactcenter.voice_tasks import (
    VoiceTaskRefused,
    voice_task_answered,
    voice_task_claim,
    voice_task_claim_released,
    voice_task_create,
)
from core.tenancy import tenant_scope
from tests.conftest import Tenant
from tests.contactcenter.taskrouter.factories import Setup, make_workspace
from voice.models import Call


def _call(tenant: Tenant) -> Call:
    with tenant_scope(tenant.account.id):
        return Call.objects.create(
            account=tenant.account,
            direction=Call.Direction.INBOUND,
            from_number=f"+1415555{uuid.uuid4().int % 10000:04d}",
            to_number="+12025550100",
            status=Call.Status.IN_PROGRESS,
            channel_id="CA" + uuid.uuid4().hex,
        )


def _caller(tenant: Tenant, workflow_sid: str) -> tuple[Call, QueueMember, Task]:
    """A live call waiting in the workflow's queue with its task, as `<Enqueue workflowSid>` leaves it."""
    account = tenant.account
    call = _call(tenant)
    entered = queue_member_enqueue(account_id=account.id, call_id=call.id, queue_name=workflow_sid)
    assert entered is not None
    task_sid = voice_task_create(account_id=account.id, call_id=call.id, workflow_sid=workflow_sid, task=None)
    with tenant_scope(account.id):
        return call, QueueMember.objects.get(id=entered.member_id), Task.objects.get(id=task_sid[2:])


@pytest.fixture
def desk(tenant_a: Tenant) -> tuple[Setup, str]:
    setup = make_workspace(tenant_a.account)
    queue = setup.queue("Everyone")
    workflow = setup.workflow({"filters": [], "default_filter": {"queue": queue.sid}})
    return setup, workflow.sid


def _claim(tenant: Tenant, reservation_sid: str) -> Claimed:
    return voice_task_claim(
        account_id=tenant.account.id,
        reservation_sid=reservation_sid,
        agent_call_id=_call(tenant).id,
        bridge_id="queue-test",
        url="",
        method="POST",
        hold_seconds=600,
    )


def _reservation_for(setup: Setup, task: Task) -> Reservation:
    setup.worker("Alice")
    assert setup.offered() == 1
    return Reservation.objects.get(task=task)


def test_it_claims_the_reservations_caller_not_the_front_and_accepts_once_bridged(
    tenant_a: Tenant, desk: tuple[Setup, str]
) -> None:
    setup, workflow_sid = desk
    _, front, front_task = _caller(tenant_a, workflow_sid)
    call, member, task = _caller(tenant_a, workflow_sid)
    with tenant_scope(tenant_a.account.id):
        Task.objects.filter(id=task.id).update(priority=5)  # so the later caller is reserved
        reservation = _reservation_for(setup, task)

    claimed = _claim(tenant_a, reservation.sid)

    assert claimed.call_sid == call.sid
    with tenant_scope(tenant_a.account.id):
        held = Reservation.objects.get(id=reservation.id)
        task.refresh_from_db()
        member.refresh_from_db()
        front.refresh_from_db()
        assert (held.status, task.status) == ("pending", "reserved")  # until the caller is bridged
        assert held.timeout_at > reservation.timeout_at  # not timing out while the caller comes
        assert (member.status, member.bridge_id, front.status) == ("bridging", "queue-test", "waiting")
    assert voice_task_answered(account_id=tenant_a.account.id, reservation_id=str(reservation.id))
    with tenant_scope(tenant_a.account.id):
        assert Reservation.objects.get(id=reservation.id).status == "accepted"
        assert Task.objects.get(id=task.id).status == "assigned"


def test_a_worker_gone_before_the_bridge_puts_the_caller_back_and_the_task_up_again(
    tenant_a: Tenant, desk: tuple[Setup, str]
) -> None:
    """Twilio accepts the reservation only when the dequeue succeeds: a worker hanging up while the
    caller hears the announcement leaves it pending, and here it times out at once."""
    setup, workflow_sid = desk
    _, member, task = _caller(tenant_a, workflow_sid)
    with tenant_scope(tenant_a.account.id):
        reservation = _reservation_for(setup, task)
    _claim(tenant_a, reservation.sid)

    voice_task_claim_released(
        account_id=tenant_a.account.id, reservation_id=str(reservation.id), member_id=member.id,
        bridge_id="queue-test",
    )  # fmt: skip

    with tenant_scope(tenant_a.account.id):
        member.refresh_from_db()
        reopened = Task.objects.get(id=task.id)
        assert Reservation.objects.get(id=reservation.id).status == "timeout"
        assert (reopened.status, reopened.age_anchor_at) == ("pending", task.age_anchor_at)
        assert (member.status, member.bridge_id) == ("waiting", "")
        setup.worker("Bob")
        assert setup.offered() == 1
        offered = Reservation.objects.filter(task=task, status="pending").get()
        assert offered.worker_name == "Bob"  # Alice, who hung up, is not offered it again


@pytest.mark.parametrize("how", ["rejected", "caller gone", "other tenant", "not a reservation"])
def test_a_reservation_it_cannot_use_is_refused_and_nothing_changes(
    tenant_a: Tenant, tenant_b: Tenant, desk: tuple[Setup, str], how: str
) -> None:
    setup, workflow_sid = desk
    _, member, task = _caller(tenant_a, workflow_sid)
    with tenant_scope(tenant_a.account.id):
        reservation = _reservation_for(setup, task)
        if how == "rejected":
            reservation_update(reservation=reservation, status="rejected")
    if how == "caller gone":
        queue_member_leave(account_id=tenant_a.account.id, member_id=member.id, result="hangup")
    tenant, sid = {
        "other tenant": (tenant_b, reservation.sid),
        "not a reservation": (tenant_a, task.sid),
    }.get(how, (tenant_a, reservation.sid))

    with pytest.raises(VoiceTaskRefused) as refused:
        _claim(tenant, sid)

    assert refused.value.code == 14215
    with tenant_scope(tenant_a.account.id):
        reservation.refresh_from_db()
        member.refresh_from_db()
        assert reservation.status == ("rejected" if how == "rejected" else "pending")
        assert member.status == ("left" if how == "caller gone" else "waiting")
