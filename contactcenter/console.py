"""What an agent does from the console, each through the TaskRouter engine with the agent as the
actor (so each is in the audit chain as `taskrouter.…`): accept an offer (a call is dequeued to the
agent's softphone, `client:<worker SID>`; a text is simply accepted), reject it (the worker moves to
the activity chosen, else the workspace's default; the engine never offers a task again to a worker
who had it), change activity, reply to a text, and wrap up with a disposition and notes (a note in
the customer's timeline, `console.wrapup` in the audit chain, the task completed, the worker moved).

Every function acts only on the worker's own reservations: another's is not found (20404).
"""

from django.db import transaction

from compliance.services import audit_record
from contactcenter.console_state import offline_activity, phone_elsewhere, task_conversation
from contactcenter.taskrouter.instructions import Instruction
from contactcenter.taskrouter.models import Reservation, Worker
from contactcenter.taskrouter.reservations import reservation_update
from contactcenter.taskrouter.workers import worker_update
from conversations.models import Note
from conversations.services import conversation_reply, note_add
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.sids import row_by_sid
from messaging.models import Message
from tenants.models import User

VOICE = "voice"
SOFTPHONE = "client:{worker_sid}"  # the softphone address part A's endpoint answers


def _invalid(message: str) -> TwilioError:
    return TwilioError(ErrorCode.UNKNOWN_PARAMETERS, message, 400)


def own_reservation(*, worker: Worker, reservation_sid: str) -> Reservation:
    """One of the worker's reservations, with its task; 20404 for any other."""
    found = row_by_sid(
        Reservation.objects.filter(worker_id=worker.id).select_related("task__task_channel", "workspace"),
        reservation_sid,
    )
    if found is None:
        raise TwilioError(ErrorCode.NOT_FOUND, f"Reservation {reservation_sid} is not yours", 404)
    return found


def console_accept(*, worker: Worker, reservation_sid: str, actor: str) -> Reservation:
    """Accept an offer. A call is bridged by a `dequeue` to the worker's softphone; the reservation
    is accepted when the softphone answers (it auto-answers the call that carries its reservation)."""
    reservation = own_reservation(worker=worker, reservation_sid=reservation_sid)
    task = reservation.task
    if task.task_channel.unique_name == VOICE and task.attributes_json.get("call_sid"):
        instruction = Instruction(
            name="dequeue",
            to=SOFTPHONE.format(worker_sid=worker.sid),
            from_=str(task.attributes_json.get("to", "")),
        )
        return reservation_update(reservation=reservation, instruction=instruction, actor=actor)
    return reservation_update(reservation=reservation, status=Reservation.Status.ACCEPTED, actor=actor)


def console_reject(*, worker: Worker, reservation_sid: str, activity_sid: str, actor: str) -> Reservation:
    """Reject an offer, the worker moving to `activity_sid` (else the workspace's default activity,
    else staying where it is)."""
    reservation = own_reservation(worker=worker, reservation_sid=reservation_sid)
    if not activity_sid and reservation.workspace.default_activity_id is not None:
        activity_sid = reservation.workspace.default_activity.sid  # type: ignore[union-attr]
    return reservation_update(
        reservation=reservation,
        status=Reservation.Status.REJECTED,
        worker_activity_sid=activity_sid or None,
        actor=actor,
    )


def console_activity_set(*, worker: Worker, activity_sid: str, actor: str) -> Worker:
    """The availability switch: any of the workspace's activities; going unavailable rejects the
    offers ringing now, so they go to someone else at once."""
    return worker_update(
        worker=worker, activity_sid=activity_sid, reject_pending_reservations=True, actor=actor
    )


def console_reply(*, worker: Worker, reservation_sid: str, body: str, actor: str) -> Message:
    """Text the customer of an accepted text task, from the thread's number, through messaging (with
    every check the Messages API makes); it is in the timeline when this returns."""
    reservation = own_reservation(worker=worker, reservation_sid=reservation_sid)
    if reservation.status not in (Reservation.Status.ACCEPTED, Reservation.Status.WRAPPING):
        raise _invalid("Accept the task before replying")
    conversation = task_conversation(reservation.task)
    if conversation is None:
        raise _invalid("This task has no conversation to reply in")
    if not body.strip():
        raise _invalid("Write a reply first")
    return conversation_reply(
        account=reservation.workspace.account, conversation=conversation, body=body, actor=actor
    )


def console_wrap_up(
    *,
    worker: Worker,
    reservation_sid: str,
    disposition: str,
    notes: str,
    activity_sid: str,
    author: User,
    actor: str,
) -> Reservation:
    """Finish a task: the disposition (one of the workspace's codes) and notes go into the
    customer's timeline and the audit chain, the task is completed, and the worker moves to
    `activity_sid` (if given). All of it, or nothing."""
    reservation = own_reservation(worker=worker, reservation_sid=reservation_sid)
    codes = [str(code) for code in reservation.workspace.disposition_codes]
    if disposition not in codes:
        raise _invalid(f"Choose a disposition: {', '.join(codes)}")
    if len(notes) > Note.MAX_LENGTH:
        raise _invalid(f"Notes are limited to {Note.MAX_LENGTH} characters")
    with transaction.atomic():
        conversation = task_conversation(reservation.task)
        if conversation is not None:
            text = f"Wrap-up by {worker.friendly_name}: {disposition}" + (f"\n{notes}" if notes else "")
            note_add(
                account=reservation.workspace.account,
                conversation=conversation,
                author=author,
                text=text,
                actor=actor,
            )
        reservation = reservation_update(
            reservation=reservation, status=Reservation.Status.COMPLETED, actor=actor
        )
        audit_record(
            account_id=reservation.account_id,
            actor=actor,
            action="console.wrapup",
            object_sid=reservation.sid,
            payload={"task_sid": reservation.task.sid, "disposition": disposition, "notes": notes},
        )
        if activity_sid:
            worker_update(worker=worker, activity_sid=activity_sid, actor=actor)
    return reservation


def console_offline(*, worker: Worker) -> bool:
    """The agent's last console closed and stayed closed through the grace period: the worker goes
    to the workspace's offline activity, its ringing offers going to others. False when it already
    was unavailable (or the workspace has no such activity), and for a worker whose calls ring a
    phone of its own (`phone_elsewhere`): a supervisor set it available for that phone, which the
    browser closing has not taken away."""
    activity = offline_activity(worker)
    if activity is None or not worker.available or phone_elsewhere(worker):
        return False
    worker_update(worker=worker, activity_sid=activity.sid, reject_pending_reservations=True, actor="console")
    return True
