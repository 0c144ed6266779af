"""A voice task's caller, as TaskRouter's instructions reach it: still waiting in its `<Enqueue>` (then
a `dequeue` is signalled to the worker process running the call), or gone, having asked to be called
back (then accepting the reservation is what calls it back: contactcenter/callbacks.py).

Imported by the engine's instructions, so it imports nothing of the engine's services.
"""

from typing import Any

from contactcenter.members import DEQUEUE, queue_member_connecting
from contactcenter.models import QueueMember
from contactcenter.taskrouter.models import Reservation, Task
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.sids import sid_to_uuid
from voice.call_state import CallUnreachable, call_signal_now

CALLBACK = "callback"  # the task attribute a caller's choice of a callback is written in


def waiting_member(task: Task) -> QueueMember | None:
    """The queue membership of the task's call while the caller waits (not while being bridged)."""
    call_id = sid_to_uuid(str(task.attributes_json.get("call_sid", "")), "CA")
    if call_id is None:
        return None
    return (
        QueueMember.objects.filter(call_id=call_id, status=QueueMember.Status.WAITING)
        .select_related("call")
        .first()
    )


def wants_callback(task: Task) -> bool:
    return isinstance(task.attributes_json.get(CALLBACK), dict)


def waiting_call_dequeue(
    *, reservation: Reservation, to: str, from_: str, timeout_seconds: int, post_work_activity_sid: str
) -> bool:
    """Tell the waiting caller's `<Enqueue>` to dial the worker at `to` for this reservation, the
    caller out of line while it rings (`queue_member_connecting`); False when nobody waits any more.
    Sent at once (the reservation it accepts is locked until this commits), so a dequeue Redis
    cannot carry is refused (503) rather than lost after the commit."""
    member = waiting_member(reservation.task)
    if member is None or not queue_member_connecting(member_id=member.id):
        return False
    payload: dict[str, Any] = {
        "member_id": str(member.id),
        "kind": "task",
        "reservation_id": str(reservation.id),
        "to": to,
        "from": from_,
        "timeout": timeout_seconds,
        "post_work_activity_sid": post_work_activity_sid,
    }
    try:
        call_signal_now(call=member.call, name=DEQUEUE, payload=payload)
    except CallUnreachable as exc:
        raise TwilioError(ErrorCode.SERVICE_UNAVAILABLE, f"{exc}; retry the instruction", 503) from exc
    return True
