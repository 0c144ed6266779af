"""TaskRouter tasks of waiting calls (`<Enqueue workflowSid>`): created with the call's attributes as
Twilio adds them, canceled when the caller leaves unanswered (unless they asked to be called back),
and, when a `dequeue` dials the worker from the caller's `<Enqueue>`, accepted as the worker answers,
given back when the worker does not (the caller keeps waiting, the task keeps its age) and wrapped up
when the bridge ends, the worker moving to the instruction's post-work activity. A worker's own call
may instead take its reservation's caller with `<Dial><Queue reservationSid>` (`voice_task_claim`),
the reservation accepted once that caller is bridged and given back if the worker's call ends first.

Each function is called from the ARI worker (`flow.store.write`) and owns its tenant-scoped
transaction.
"""

import json
import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from contactcenter.members import Claimed, queue_member_claim_front, queue_member_requeue
from contactcenter.models import QueueMember
from contactcenter.taskrouter.models import Reservation, Task, Workflow
from contactcenter.taskrouter.reservations import (
    reservation_hold,
    reservation_pending_end,
    reservation_update,
)
from contactcenter.taskrouter.task_lifecycle import task_create, task_update
from contactcenter.taskrouter.workers import worker_update
from contactcenter.waiting_calls import waiting_member, wants_callback
from core.errors import TwilioError
from core.sids import row_by_sid, sid_to_uuid
from core.tenancy import tenant_scope
from twiml.errors import Code
from twiml.verbs import Task as TaskNoun
from voice.models import Call

Result = QueueMember.Result
# Why a waiting call's task was canceled, by how the caller left the queue (Twilio's QueueResult).
CANCELED_BECAUSE: dict[str, str] = {
    Result.HANGUP: "The caller hung up",
    Result.LEAVE: "The caller left the queue",
    Result.REDIRECTED: "The call was redirected out of the queue",
    Result.ERROR: "The call's queue failed",
    Result.SYSTEM_ERROR: "The call's queue failed",
}


class VoiceTaskRefused(Exception):
    """The `<Enqueue>`'s task cannot be created, or `<Queue reservationSid>` cannot take its caller;
    `code` is Twilio's TwiML code for the error log."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _call_attributes(call: Call, account_sid: str) -> dict[str, str]:
    """What Twilio adds to the attributes of a task `<Enqueue>` creates."""
    return {
        "account_sid": account_sid,
        "call_sid": call.sid,
        "from": call.from_number,
        "to": call.to_number,
        "caller": call.from_number,
        "called": call.to_number,
        "direction": call.direction,
        "call_status": "in-progress",
        "api_version": "2010-04-01",
    }


def voice_task_create(
    *, account_id: uuid.UUID, call_id: uuid.UUID, workflow_sid: str, task: TaskNoun | None
) -> str:
    """A pending task on the `voice` channel for a call entering its queue; its SID."""
    with tenant_scope(account_id):
        workflow = row_by_sid(Workflow.objects.select_related("workspace"), workflow_sid)
        if workflow is None:
            raise VoiceTaskRefused(
                Code.ENQUEUE_WORKFLOW_SID, f"Workflow {workflow_sid} is not one of the account's"
            )
        call = Call.objects.select_related("account").get(id=call_id)
        given = json.loads(task.attributes) if task and task.attributes else {}
        attributes = {**given, **_call_attributes(call, call.account.sid)}
        try:
            created = task_create(
                workspace=workflow.workspace,
                workflow_sid=workflow_sid,
                attributes=json.dumps(attributes),
                priority=task.priority if task else None,
                timeout=task.timeout if task else None,
                task_channel="voice",
            )
        except TwilioError as refused:
            raise VoiceTaskRefused(Code.ENQUEUE_WORKFLOW_SID, refused.message) from None
        return created.sid


def voice_task_leave(*, account_id: uuid.UUID, task_sid: str, result: str) -> None:
    """The caller left the queue unanswered: its task is canceled (its pending reservations with it,
    their workers freed), unless the caller hung up having asked to be called back, when the task
    keeps its place."""
    with tenant_scope(account_id), transaction.atomic():
        task_id = sid_to_uuid(task_sid, "WT")
        task = Task.objects.filter(id=task_id, status__in=Task.OPEN).first() if task_id else None
        if task is None or (result == Result.HANGUP and wants_callback(task)):
            return
        task_update(
            task=task, assignment_status=Task.Status.CANCELED, reason=CANCELED_BECAUSE.get(result, result)
        )


def voice_task_call_ended(*, call: Call) -> None:
    """In the transaction ending `call`, which was still in its queue: its open task is canceled as
    when a caller hangs up while waiting, unless it keeps its place for a callback."""
    task = (
        Task.objects.filter(account_id=call.account_id, status__in=Task.OPEN)
        .filter(attributes_json__call_sid=call.sid)
        .first()
    )
    if task is not None:
        voice_task_leave(account_id=call.account_id, task_sid=task.sid, result=Result.HANGUP)


def voice_task_claim(
    *,
    account_id: uuid.UUID,
    reservation_sid: str,
    agent_call_id: uuid.UUID,
    bridge_id: str,
    url: str,
    method: str,
    hold_seconds: float,
) -> Claimed:
    """`<Dial><Queue reservationSid>` on the worker's call: claim the pending reservation's waiting
    caller for the worker's bridge. The reservation stays pending, as Twilio's does until the dequeue
    succeeds (`voice_task_answered` when the caller is bridged), but cannot time out for
    `hold_seconds`, the worker's wait for the caller. Raises VoiceTaskRefused (14215: not the
    account's, not pending, or nobody waiting), nothing changed."""
    with tenant_scope(account_id):
        reservation = row_by_sid(Reservation.objects.select_related("task"), reservation_sid)
        if reservation is None:
            raise VoiceTaskRefused(
                Code.QUEUE_RESERVATION_SID, f"Reservation {reservation_sid} is not one of the account's"
            )
        not_waiting = VoiceTaskRefused(
            Code.QUEUE_RESERVATION_SID, f"The caller of reservation {reservation_sid} is not waiting"
        )
        member = waiting_member(reservation.task)
        if member is None:
            raise not_waiting
        try:
            reservation_hold(reservation=reservation, until=timezone.now() + timedelta(seconds=hold_seconds))
        except TwilioError as refused:
            raise VoiceTaskRefused(Code.QUEUE_RESERVATION_SID, refused.message) from None
        claimed = queue_member_claim_front(
            account_id=account_id,
            queue_name="",
            agent_call_id=agent_call_id,
            bridge_id=bridge_id,
            url=url,
            method=method,
            call_id=member.call_id,
        )
        if claimed is None:  # the caller is leaving this instant: the hold rolls back
            raise not_waiting
        return claimed


def voice_task_claim_released(
    *,
    account_id: uuid.UUID,
    reservation_id: str,
    member_id: uuid.UUID,
    bridge_id: str,
    status: str = "no-answer",
) -> None:
    """The worker's call ended (or gave up) before its claimed caller was bridged, or the worker a
    `dequeue` rang did not answer (`status`: no-answer, busy, failed; `bridge_id` empty): the caller
    is back in line at its old place, and the reservation, still pending, times out as Twilio's
    would (rejected when busy or failed) so the task is offered again with its age, in one
    transaction (so the next worker's claim finds the caller waiting). Changes nothing once the
    reservation was accepted or ended otherwise.

    The reservation is locked first: a `dequeue` signals the caller before its transaction (which
    made the caller `bridging`) commits, and a worker busy at once can answer sooner. Its lock waits
    for that commit; requeueing first would match no `bridging` row yet, and leave the caller so
    for ever."""
    with tenant_scope(account_id):
        reservation = _reservation(reservation_id)
        if reservation is not None:
            ended = Reservation.Status.TIMEOUT if status == "no-answer" else Reservation.Status.REJECTED
            reservation_pending_end(reservation, ended)
        queue_member_requeue(account_id=account_id, member_id=member_id, bridge_id=bridge_id)


def _reservation(reservation_id: str) -> Reservation | None:
    return Reservation.objects.filter(id=uuid.UUID(reservation_id)).first()


def voice_task_answered(*, account_id: uuid.UUID, reservation_id: str) -> bool:
    """The worker answered the dequeue's call, or the caller its `<Dial><Queue reservationSid>` claimed
    is in the bridge: accept the reservation (the task is assigned); False when it is no longer
    pending (timed out, canceled meanwhile), and the worker's leg is dropped."""
    with tenant_scope(account_id):
        reservation = _reservation(reservation_id)
        if reservation is None:
            return False
        try:
            reservation_update(reservation=reservation, status=Reservation.Status.ACCEPTED)
        except TwilioError:
            return False
        return True


def voice_task_bridge_ended(
    *, account_id: uuid.UUID, reservation_id: str, post_work_activity_sid: str
) -> None:
    """The caller and the worker are no longer bridged: the task wraps up, and the worker moves to the
    dequeue's post-work activity, if it named one."""
    with tenant_scope(account_id), transaction.atomic():
        reservation = (
            Reservation.objects.filter(id=uuid.UUID(reservation_id)).select_related("task", "worker").first()
        )
        if reservation is None:
            return
        if reservation.task.status == Task.Status.ASSIGNED:
            task_update(task=reservation.task, assignment_status=Task.Status.WRAPPING)
        if post_work_activity_sid and reservation.worker is not None:
            worker_update(worker=reservation.worker, activity_sid=post_work_activity_sid)
