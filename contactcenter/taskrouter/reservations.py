"""Reservations after they are made: accepted, rejected, timed out, canceled, rescinded, wrapping,
completed, and what each does to its task and to the worker's capacity.

Locks are taken task first, then reservation, then worker (the routing process takes task, then
worker, skipping locked rows), so no two paths wait on each other in opposite orders. Capacity a
reservation held is given back in the same transaction that ends it, and routing is woken.
"""

import uuid
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest

from contactcenter.taskrouter import instructions
from contactcenter.taskrouter.audit import taskrouter_audit
from contactcenter.taskrouter.events import event_record
from contactcenter.taskrouter.instructions import Instruction
from contactcenter.taskrouter.models import Activity, Reservation, Task, WorkerChannel
from contactcenter.taskrouter.params import reservation_params, task_params
from contactcenter.taskrouter.presence import worker_activity_move
from contactcenter.taskrouter.routing import routing_wake
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.sids import row_by_sid

Status = Reservation.Status

EVENT_TYPES = {
    Status.ACCEPTED: "reservation.accepted",
    Status.REJECTED: "reservation.rejected",
    Status.TIMEOUT: "reservation.timeout",
    Status.CANCELED: "reservation.canceled",
    Status.RESCINDED: "reservation.rescinded",
    Status.WRAPPING: "reservation.wrapup",
    Status.COMPLETED: "reservation.completed",
}

# The instructions that act on a call, each with Twilio's code for a reservation no longer pending.
CALL_INSTRUCTIONS = {
    "call": (instructions.call, ErrorCode.TASKROUTER_CALL),
    "redirect": (instructions.redirect, ErrorCode.TASKROUTER_REDIRECT),
    "dequeue": (instructions.dequeue, ErrorCode.TASKROUTER_DEQUEUE),
}


def task_locked(task_id: uuid.UUID) -> Task:
    return (
        Task.objects.select_for_update(of=("self",))
        .select_related("workspace", "task_channel", "task_queue", "workflow")
        .get(id=task_id)
    )


def _locked(reservation: Reservation) -> Reservation:
    task = task_locked(reservation.task_id)
    locked = (
        Reservation.objects.select_for_update(of=("self",))
        .select_related("worker__activity", "task_queue")
        .get(id=reservation.id)
    )
    locked.task = task
    return locked


def activity_in(reservation_or_task: Reservation | Task, activity_sid: str) -> Activity:
    """An activity of the same workspace, by SID; 20001 otherwise."""
    activity = row_by_sid(
        Activity.objects.filter(workspace_id=reservation_or_task.workspace_id), activity_sid
    )
    if activity is None:
        raise TwilioError(
            ErrorCode.UNKNOWN_PARAMETERS, f"Activity {activity_sid} is not in this workspace", 400
        )
    return activity


def reservation_end(reservation: Reservation, status: str) -> None:
    """Move a (locked) reservation to `status`, giving back the capacity unit it held if it ends."""
    released = reservation.status in Reservation.HOLDING and status not in Reservation.HOLDING
    reservation.status = status
    reservation.save(update_fields=["status", "date_updated"])
    if released and reservation.worker_channel_id is not None:
        WorkerChannel.objects.filter(id=reservation.worker_channel_id).update(
            assigned_tasks=Greatest(F("assigned_tasks") - 1, 0)
        )
        routing_wake(workspace_id=reservation.workspace_id)
    worker_name = reservation.worker.friendly_name if reservation.worker else reservation.worker_name
    event_record(
        workspace=reservation.task.workspace,
        event_type=EVENT_TYPES[Status(status)],
        resource=reservation,
        description=f"Reservation {reservation.sid} for worker {worker_name} {status}",
        data=reservation_params(reservation),
    )


def task_requeue(task: Task) -> None:
    """A reserved task whose last pending reservation ended goes back to pending, to be re-offered."""
    if task.status == Task.Status.RESERVED and not task.reservations.filter(status=Status.PENDING).exists():
        task_status_set(task, Task.Status.PENDING)
        routing_wake(workspace_id=task.workspace_id)


def reservation_pending_end(reservation: Reservation, status: str) -> None:
    """End `reservation` as `status` if it is still pending (its task locked first, then it: the lock
    order) and offer the task again; one that has moved on meanwhile is left alone."""
    locked = _locked(reservation)
    if locked.status == Status.PENDING:
        reservation_end(locked, status)
        task_requeue(locked.task)


def reservation_hold(*, reservation: Reservation, until: datetime) -> None:
    """Keep a pending reservation from timing out before `until`: a worker's call has claimed its
    caller, and Twilio accepts it only when the caller is bridged. Raises 20001 when not pending."""
    locked = _locked(reservation)
    _require_pending(locked)
    if locked.timeout_at < until:
        locked.timeout_at = until
        locked.save(update_fields=["timeout_at", "date_updated"])


def task_status_set(task: Task, status: str, reason: str = "") -> None:
    task.status = status
    task.reason = reason or task.reason
    task.save(update_fields=["status", "reason", "date_updated"])


def task_reservations_end(task: Task, status: str, *, keep: Reservation | None = None) -> None:
    """End the task's pending reservations (but `keep`) as `status`: canceled or rescinded."""
    pending = (
        task.reservations.select_for_update(of=("self",))
        .select_related("worker__activity", "task_queue")
        .filter(status=Status.PENDING)
        .exclude(id__in=[keep.id] if keep else [])
        .order_by("id")
    )
    for reservation in pending:
        reservation.task = task
        reservation_end(reservation, status)


def task_event(task: Task, event_type: str, description: str) -> None:
    event_record(
        workspace=task.workspace, event_type=event_type, resource=task, description=description,
        data=task_params(task),
    )  # fmt: skip


def task_finish(task: Task, status: str, reason: str = "") -> None:
    """Wrap up or complete an assigned (or wrapping) task and its accepted reservation."""
    allowed = {
        Task.Status.WRAPPING: {Task.Status.ASSIGNED},
        Task.Status.COMPLETED: {Task.Status.ASSIGNED, Task.Status.WRAPPING},
    }
    if task.status not in allowed[Task.Status(status)]:
        raise TwilioError(
            ErrorCode.UNKNOWN_PARAMETERS,
            f"Task {task.sid} cannot be moved to {status} because it is {task.status}",
            400,
        )
    task_status_set(task, status, reason)
    active = (
        task.reservations.select_for_update(of=("self",))
        .select_related("worker__activity", "task_queue")
        .filter(status__in=[Status.ACCEPTED, Status.WRAPPING])
    )
    for reservation in active:
        reservation.task = task
        reservation_end(reservation, Status.WRAPPING if status == Task.Status.WRAPPING else Status.COMPLETED)
    kind = "wrapup" if status == Task.Status.WRAPPING else "completed"
    task_event(task, f"task.{kind}", f"Task {task.sid} {kind}")


def task_cancel(task: Task, reason: str) -> None:
    """Cancel a pending or reserved (locked) task: its offers are canceled and their workers freed."""
    task_reservations_end(task, Status.CANCELED)
    task.escalates_at = None
    task.save(update_fields=["escalates_at"])
    task_status_set(task, Task.Status.CANCELED, reason)
    task_event(task, "task.canceled", f"Task {task.sid} canceled: {reason}")


def _accept(reservation: Reservation) -> None:
    task = reservation.task
    reservation_end(reservation, Status.ACCEPTED)
    task_reservations_end(task, Status.RESCINDED, keep=reservation)
    task.escalates_at = None
    task.save(update_fields=["escalates_at"])
    task_status_set(task, Task.Status.ASSIGNED)
    queue = reservation.task_queue
    if reservation.worker is not None and queue is not None and queue.assignment_activity_id is not None:
        worker = reservation.worker
        worker_activity_move(worker, Activity.objects.get(id=queue.assignment_activity_id))


def _reject(reservation: Reservation, activity_sid: str) -> None:
    activity = activity_in(reservation, activity_sid) if activity_sid else None
    reservation_end(reservation, Status.REJECTED)
    if activity is not None and reservation.worker is not None:
        worker_activity_move(reservation.worker, activity)
    task_requeue(reservation.task)


def _require_pending(reservation: Reservation, code: int = ErrorCode.UNKNOWN_PARAMETERS) -> None:
    if reservation.status != Status.PENDING:
        raise TwilioError(
            code, f"Reservation {reservation.sid} is not pending; it is {reservation.status}", 400
        )


def reservation_update(
    *,
    reservation: Reservation,
    status: str | None = None,
    worker_activity_sid: str | None = None,
    instruction: Instruction | None = None,
    actor: str | None = None,
) -> Reservation:
    """Twilio's Reservation update: `ReservationStatus` (accepted, rejected, wrapping, completed),
    or an `Instruction` (accept, reject, call, redirect, dequeue) as the REST API or an assignment
    callback gives it. Errors leave everything as it was. Audited when an `actor` asks (audit.py)."""
    with transaction.atomic():
        reservation = _locked(reservation)
        if instruction is not None:
            _instruct(reservation, instruction, worker_activity_sid or instruction.activity_sid)
        elif status in (Status.ACCEPTED, Status.REJECTED):
            _require_pending(reservation)
            if status == Status.ACCEPTED:
                _accept(reservation)
            else:
                _reject(reservation, worker_activity_sid or "")
        elif status in (Status.WRAPPING, Status.COMPLETED):
            if reservation.status not in (Status.ACCEPTED, Status.WRAPPING):
                _require_pending(reservation)  # says what it is
                raise TwilioError(ErrorCode.UNKNOWN_PARAMETERS, "Reservation has not been accepted", 400)
            finished = Task.Status.WRAPPING if status == Status.WRAPPING else Task.Status.COMPLETED
            task_finish(reservation.task, finished)
        else:
            raise TwilioError(
                ErrorCode.UNKNOWN_PARAMETERS, f"ReservationStatus {status} is not supported", 400
            )
        if actor is not None:
            payload = {
                "reservation_status": status,
                "instruction": instruction.name if instruction else None,
                "worker_activity_sid": worker_activity_sid,
            }
            taskrouter_audit(reservation, actor=actor, action="reservation.update", payload=payload)
    reservation.refresh_from_db()
    return reservation


def _instruct(reservation: Reservation, instruction: Instruction, activity_sid: str) -> None:
    if instruction.name == "accept":
        _require_pending(reservation)
        _accept(reservation)
    elif instruction.name == "reject":
        _require_pending(reservation)
        _reject(reservation, activity_sid)
    elif instruction.name in CALL_INSTRUCTIONS:
        act, code = CALL_INSTRUCTIONS[instruction.name]
        _require_pending(reservation, code)
        if instructions.accepts_at_once(reservation, instruction):
            _accept(reservation)
        act(reservation=reservation, instruction=instruction)
    else:
        raise TwilioError(
            ErrorCode.INVALID_TASKROUTER_INSTRUCTION, f"Invalid instruction {instruction.name!r}", 400
        )
