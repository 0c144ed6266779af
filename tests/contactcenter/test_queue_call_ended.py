"""A queued call that ends without its `<Enqueue>` cleaning up (its ARI worker died, and the restarted
worker's reconciliation finished the call; or the flow failed) leaves nothing behind: the caller is out
of its queue and its task canceled with its offers (unless it asked to be called back), and a caller an
ended agent's `<Dial><Queue>` had claimed is back in line at its place."""

import json
import uuid
from typing import Any

from contactcenter.members import (
    queue_call_ended,
    queue_member_claim_front,
    queue_member_enqueue,
    queue_member_requeue,
)
from contactcenter.models import QueueMember
from contactcenter.taskrouter.models import Reservation, Task, WorkerChannel
from contactcenter.voice_tasks import voice_task_create
from core.tenancy import tenant_activate
from tests.conftest import Tenant
from tests.contactcenter.taskrouter.factories import Setup, make_workspace
from twiml.verbs import Task as TaskNoun
from voice.call_state import call_finish
from voice.models import Call


def _live_call(tenant: Tenant) -> Call:
    return Call.objects.create(
        account=tenant.account,
        direction=Call.Direction.INBOUND,
        from_number=f"+1415555{uuid.uuid4().int % 10000:04d}",
        to_number="+12025550100",
        status=Call.Status.IN_PROGRESS,
        answered_at="2026-01-01T00:00:00Z",
        channel_id="ch-" + uuid.uuid4().hex,
    )


def _enqueued_with_task(tenant: Tenant, setup: Setup, attributes: dict[str, object]) -> tuple[Call, Task]:
    queue = setup.queue("Front desk")
    workflow = setup.workflow({"default_filter": {"queue": queue.sid}})
    call = _live_call(tenant)
    assert queue_member_enqueue(account_id=tenant.account.id, call_id=call.id, queue_name=workflow.sid)
    task_sid = voice_task_create(
        account_id=tenant.account.id,
        call_id=call.id,
        workflow_sid=workflow.sid,
        task=TaskNoun(attributes=json.dumps(attributes)),
    )
    tenant_activate(tenant.account.id)
    return call, Task.objects.get(id=uuid.UUID(task_sid[2:]))


def test_a_waiting_caller_whose_call_ended_elsewhere_leaves_and_its_task_is_canceled(
    tenant_a: Tenant,
) -> None:
    setup = make_workspace(tenant_a.account)
    worker = setup.worker("Alice", {"contact_uri": "sip:alice@example.com"})
    call, task = _enqueued_with_task(tenant_a, setup, {})
    setup.route()
    assert Reservation.objects.get(task=task).status == "pending"

    call_finish(account_id=tenant_a.account.id, call_id=call.id, status="failed", reason="worker restarted")
    tenant_activate(tenant_a.account.id)

    member = QueueMember.objects.get(call=call)
    assert (member.status, member.result) == ("left", "hangup") and member.left_at is not None
    task.refresh_from_db()
    assert task.status == "canceled"
    assert Reservation.objects.get(task=task).status == "canceled"
    assert WorkerChannel.objects.get(worker=worker, task_channel__unique_name="voice").assigned_tasks == 0


def test_a_caller_who_asked_for_a_callback_keeps_its_task_when_its_call_ends_elsewhere(
    tenant_a: Tenant,
) -> None:
    setup = make_workspace(tenant_a.account)
    call, task = _enqueued_with_task(tenant_a, setup, {"callback": {"to": "+14155550199"}})

    call_finish(account_id=tenant_a.account.id, call_id=call.id, status="failed", reason="worker restarted")
    tenant_activate(tenant_a.account.id)

    assert QueueMember.objects.get(call=call).status == "left"
    task.refresh_from_db()
    assert task.status == "pending"


def test_a_caller_claimed_by_an_agent_whose_call_ended_is_back_in_line(tenant_a: Tenant) -> None:
    tenant_activate(tenant_a.account.id)
    first, second, agent = _live_call(tenant_a), _live_call(tenant_a), _live_call(tenant_a)
    for caller in (first, second):
        assert queue_member_enqueue(account_id=tenant_a.account.id, call_id=caller.id, queue_name="support")
    claimed = queue_member_claim_front(
        account_id=tenant_a.account.id,
        queue_name="support",
        agent_call_id=agent.id,
        bridge_id="queue-lost",
        url="",
        method="POST",
    )
    assert claimed is not None and claimed.call_sid == first.sid

    call_finish(account_id=tenant_a.account.id, call_id=agent.id, status="failed", reason="worker restarted")
    tenant_activate(tenant_a.account.id)

    member = QueueMember.objects.get(call=first)
    assert (member.status, member.dequeued_by_id, member.bridge_id) == ("waiting", None, "")
    again = queue_member_claim_front(
        account_id=tenant_a.account.id,
        queue_name="support",
        agent_call_id=agent.id,
        bridge_id="queue-next",
        url="",
        method="POST",
    )
    assert again is not None and again.call_sid == first.sid  # its place kept, ahead of the second


def test_giving_up_a_claim_puts_the_caller_back_but_never_undoes_a_later_claim(tenant_a: Tenant) -> None:
    """An agent that waited in vain for its caller (or the caller failing to join a closed bridge)
    requeues by its own bridge only: a later agent's claim on the same caller stands."""
    tenant_activate(tenant_a.account.id)
    caller, first_agent, second_agent = _live_call(tenant_a), _live_call(tenant_a), _live_call(tenant_a)
    assert queue_member_enqueue(account_id=tenant_a.account.id, call_id=caller.id, queue_name="support")
    claim: dict[str, Any] = {
        "account_id": tenant_a.account.id,
        "queue_name": "support",
        "url": "",
        "method": "POST",
    }
    first = queue_member_claim_front(**claim, agent_call_id=first_agent.id, bridge_id="queue-first")
    assert first is not None
    ids: dict[str, Any] = {"account_id": tenant_a.account.id, "member_id": first.member_id}
    assert queue_member_requeue(**ids, bridge_id="queue-first")
    tenant_activate(tenant_a.account.id)
    assert QueueMember.objects.get(call=caller).status == "waiting"

    assert queue_member_claim_front(**claim, agent_call_id=second_agent.id, bridge_id="queue-second")
    assert not queue_member_requeue(**ids, bridge_id="queue-first")  # the first bridge's, too late
    tenant_activate(tenant_a.account.id)
    member = QueueMember.objects.get(call=caller)
    assert (member.status, member.bridge_id, member.dequeued_by_id) == (
        "bridging",
        "queue-second",
        second_agent.id,
    )


def test_the_end_of_a_call_that_never_used_a_queue_costs_no_query(
    tenant_a: Tenant, django_assert_num_queries: Any
) -> None:
    """Every call's end passes through `queue_call_ended`: only the callers `<Enqueue>` put in a
    queue and the agents whose `<Dial><Queue>` claimed one are looked at."""
    tenant_activate(tenant_a.account.id)
    plain, caller, agent = _live_call(tenant_a), _live_call(tenant_a), _live_call(tenant_a)
    assert queue_member_enqueue(account_id=tenant_a.account.id, call_id=caller.id, queue_name="support")
    assert queue_member_claim_front(
        account_id=tenant_a.account.id,
        queue_name="support",
        agent_call_id=agent.id,
        bridge_id="queue-flag",
        url="",
        method="POST",
    )
    used = dict(Call.objects.values_list("id", "has_used_queue"))
    assert used == {plain.id: False, caller.id: True, agent.id: True}

    plain.refresh_from_db()
    with django_assert_num_queries(0):
        assert queue_call_ended(call=plain) is False
