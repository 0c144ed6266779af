"""A caller taken from their agent back into line: blind-transferred to a worker or a TaskQueue, or
re-queued because the agent's leg was lost. Flex's way: a new task on the same workflow with the old
one's attributes and priority, marked `transferTargetType` (worker or queue) and `transferTargetSid`
for the workflow's filters to route on (`known_worker_sid: task.transferTargetSid` for a worker),
and `transferredFrom` naming the old task, whose history stays. A re-queued task is as old as the
first, so the caller keeps their place.

Called from the caller's ARI worker (contactcenter/agent_call.py); each function owns its
tenant-scoped transaction, in which the caller is waiting again before the new task exists, so the
`dequeue` the new task brings finds them.
"""

import json
import uuid
from typing import Any

from django.db import transaction
from django.utils import timezone

from contactcenter.console_state import offline_activity
from contactcenter.models import QueueMember
from contactcenter.taskrouter.models import Reservation, Task, Workspace
from contactcenter.taskrouter.task_lifecycle import task_create, task_update
from contactcenter.taskrouter.workers import worker_update
from core.tenancy import tenant_scope

AGENT_LOST = "agent-lost"  # `requeueReason` of a task re-queued because its agent's leg was lost


def _reservation(reservation_id: str) -> Reservation:
    return (
        Reservation.objects.select_related("task__workspace", "task__workflow", "worker")
        .filter(id=uuid.UUID(reservation_id))
        .get()
    )


def _wait_again(member_id: uuid.UUID) -> None:
    """The caller's old membership waits again, at its old place (its creation time orders the line)."""
    QueueMember.objects.filter(id=member_id).update(
        status=QueueMember.Status.WAITING,
        result="",
        left_at=None,
        bridged_at=None,
        dequeued_by=None,
        bridge_id="",
        date_updated=timezone.now(),
    )


def _task_again(old: Task, extra: dict[str, Any], *, keep_age: bool) -> Task:
    assert old.workflow is not None  # a voice task from `<Enqueue workflowSid>`
    attributes = {**old.attributes_json, **extra, "transferredFrom": old.sid}
    return task_create(
        workspace=old.workspace,
        workflow_sid=old.workflow.sid,
        attributes=json.dumps(attributes),
        priority=old.priority,
        timeout=old.timeout,
        task_channel="voice",
        age_anchor_at=old.age_anchor_at if keep_age else None,
    )


def _wrap(task: Task, reason: str) -> None:
    if task.status == Task.Status.ASSIGNED:
        task_update(task=task, assignment_status=Task.Status.WRAPPING, reason=reason)


def caller_transfer_requeue(
    *, account_id: uuid.UUID, reservation_id: str, member_id: uuid.UUID, target_kind: str, target_sid: str
) -> str:
    """A blind transfer to a worker (`WK…`) or TaskQueue (`WQ…`): the agent's task wraps up, the
    caller waits again and a new task is routed by the workflow; its SID."""
    with tenant_scope(account_id), transaction.atomic():
        old = _reservation(reservation_id).task
        _wrap(old, "Transferred")
        _wait_again(member_id)
        extra = {"transferTargetType": target_kind, "transferTargetSid": target_sid}
        return _task_again(old, extra, keep_age=False).sid


def agent_lost(*, account_id: uuid.UUID, reservation_id: str, member_id: uuid.UUID) -> tuple[str, str]:
    """The agent's leg was lost mid-call: the worker goes offline (not offered again until it comes
    back), and the workspace's `agent_lost_action` says what the caller gets: `requeue` (the task
    wraps, the caller waits again with a new task as old as it), `redial` (the task stays the
    worker's, whose contact is rung again) or `hangup` (the task wraps). The action and the new
    task's SID (requeue only)."""
    with tenant_scope(account_id), transaction.atomic():
        reservation = _reservation(reservation_id)
        task, worker = reservation.task, reservation.worker
        action = task.workspace.agent_lost_action
        if action != Workspace.AgentLostAction.REDIAL:
            _wrap(task, "The agent's connection was lost")  # the task's lock before the worker's
        if worker is not None and (offline := offline_activity(worker)) is not None:
            worker_update(worker=worker, activity_sid=offline.sid, reject_pending_reservations=True)
        if action != Workspace.AgentLostAction.REQUEUE:
            return action, ""
        _wait_again(member_id)
        return action, _task_again(task, {"requeueReason": AGENT_LOST}, keep_age=True).sid


def worker_contact_now(*, account_id: uuid.UUID, reservation_id: str) -> str:
    """The reservation's worker's `contact_uri` as it is now ('' without one): a lost agent is rung
    again where they are back (a softphone that signed in again, a new device)."""
    with tenant_scope(account_id):
        worker = _reservation(reservation_id).worker
        return str(worker.attributes_json.get("contact_uri", "")) if worker is not None else ""


def agent_redial_failed(*, account_id: uuid.UUID, reservation_id: str, member_id: uuid.UUID) -> str:
    """The lost agent's contact, rung again, did not answer: re-queued as `requeue` would have; the
    new task's SID."""
    with tenant_scope(account_id), transaction.atomic():
        task = _reservation(reservation_id).task
        _wrap(task, "The agent's connection was lost")
        _wait_again(member_id)
        return _task_again(task, {"requeueReason": AGENT_LOST}, keep_age=True).sid
