"""A queued call's way through its queue: in, claimed by an agent's `<Dial><Queue>`, bridged, back in
line, out (Leave, hangup, a redirect) or dequeued by the API.

The flows on both sides run in ARI workers, perhaps different processes: each step is one transaction
here, and tells the other call what it needs through `voice.call_state.call_signal` on commit:
`DEQUEUE` to the queued caller (be bridged or be redirected), `JOINED` to the agent (the caller is in
the bridge). Functions called from the worker take `account_id` and scope their own transaction.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from compliance.services import audit_record
from contactcenter.models import Queue, QueueMember
from contactcenter.selectors import wait_seconds
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.sids import make_sid
from core.tenancy import tenant_scope
from voice.call_state import CallUnreachable, call_signal, call_signal_now
from voice.models import Call

DEQUEUE = "queue.dequeue"
JOINED = "queue.joined"
Status = QueueMember.Status
Result = QueueMember.Result


class QueueNotFound(Exception):
    """`<Dial><Queue>` named a queue the account does not have (Twilio: an error status to its action)."""


@dataclass(frozen=True)
class Entered:
    member_id: uuid.UUID
    queue_sid: str


@dataclass(frozen=True)
class Left:
    queue_time: int  # seconds in the queue, until bridged or until it left
    bridge_id: str  # the bridge an agent held open for it, when it left while being dequeued


@dataclass(frozen=True)
class Claimed:
    member_id: uuid.UUID
    call_sid: str
    queue_sid: str
    queue_time: int


def queue_member_enqueue(*, account_id: uuid.UUID, call_id: uuid.UUID, queue_name: str) -> Entered | None:
    """Put a live call at the back of the queue named `queue_name`, which is created at its first use
    (as Twilio does); None when the queue is full. The queue's row is locked while its size is checked,
    so callers arriving at once never overfill it."""
    with tenant_scope(account_id):
        Queue.objects.bulk_create(
            [Queue(account_id=account_id, friendly_name=queue_name)], ignore_conflicts=True
        )
        queue = Queue.objects.select_for_update().get(account_id=account_id, friendly_name=queue_name)
        if queue.members.filter(status=Status.WAITING).count() >= queue.max_size:
            return None
        member = QueueMember.objects.create(account_id=account_id, queue=queue, call_id=call_id)
        _used_queue(call_id)
        return Entered(member.id, queue.sid)


def _used_queue(call_id: uuid.UUID) -> None:
    """Mark the call as one whose end `queue_call_ended` must look at (once)."""
    Call.objects.filter(id=call_id, has_used_queue=False).update(has_used_queue=True)


def _leave(member: QueueMember, result: str) -> Left:
    """Inside a transaction holding the member's row lock."""
    bridge_id = member.bridge_id if member.status == Status.BRIDGING else ""
    member.status, member.result, member.left_at = Status.LEFT, result, timezone.now()
    member.save(update_fields=["status", "result", "left_at", "bridged_at", "date_updated"])
    return Left(queue_time=wait_seconds(member), bridge_id=bridge_id)


def queue_member_leave(*, account_id: uuid.UUID, member_id: uuid.UUID, result: str) -> Left | None:
    """Take a waiting member out for `result` (leave, hangup, redirected, error). A caller who hangs up
    leaves even while an agent dequeues it (`Left.bridge_id` is that agent's bridge, to close); for
    any other result None means it was claimed meanwhile, and its dequeue is on the way."""
    leaving = [Status.WAITING, Status.BRIDGING] if result == Result.HANGUP else [Status.WAITING]
    with tenant_scope(account_id):
        member = QueueMember.objects.select_for_update().filter(id=member_id, status__in=leaving).first()
        return _leave(member, result) if member else None


def queue_member_claim_front(
    *,
    account_id: uuid.UUID,
    queue_name: str,
    agent_call_id: uuid.UUID,
    bridge_id: str,
    url: str,
    method: str,
    call_id: uuid.UUID | None = None,
) -> Claimed | None:
    """Claim the caller at the front of the queue for the agent's call, which holds `bridge_id` open,
    and tell the caller to hear `url` (if any) and join it; None when nobody waits. Raises
    QueueNotFound. With `call_id`, that caller only, in whichever queue it waits (a TaskRouter
    reservation names the caller, not the queue; `queue_name` is then not looked at).

    The member is locked with SKIP LOCKED and marked bridging in the same transaction, so two
    agents claiming at once get two callers, never one."""
    with tenant_scope(account_id):
        waiting = QueueMember.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            status=Status.WAITING
        )
        if call_id is None:
            queue = Queue.objects.filter(account_id=account_id, friendly_name=queue_name).first()
            if queue is None:
                raise QueueNotFound(queue_name)
            waiting = waiting.filter(queue=queue).order_by("date_created", "id")
        else:
            waiting = waiting.filter(call_id=call_id)
        member = waiting.select_related("call", "queue").first()
        if member is None:
            return None
        member.status, member.dequeued_by_id, member.bridge_id = Status.BRIDGING, agent_call_id, bridge_id
        member.save(update_fields=["status", "dequeued_by", "bridge_id", "date_updated"])
        _used_queue(agent_call_id)
        queue_time = wait_seconds(member)
        payload: dict[str, Any] = {
            "member_id": str(member.id),
            "kind": "bridge",
            "bridge_id": bridge_id,
            "url": url,
            "method": method,
            "dequeuing_call_sid": make_sid("CA", agent_call_id),
        }
        call_signal(call=member.call, name=DEQUEUE, payload=payload)
        return Claimed(member.id, member.call.sid, member.queue.sid, queue_time)


def queue_member_connecting(*, member_id: uuid.UUID) -> bool:
    """In the caller's transaction: a waiting caller is being connected (TaskRouter's `dequeue`
    rings its worker from the caller's `<Enqueue>`): out of line, so no agent claims it and the
    Members API no longer lists it, but not yet bridged. No agent bridge (`bridge_id` is empty): it
    is bridged when the worker answers, or back in line (`queue_member_requeue` with no bridge) when
    not. False when it no longer waits."""
    return bool(
        QueueMember.objects.filter(id=member_id, status=Status.WAITING).update(
            status=Status.BRIDGING, date_updated=timezone.now()
        )
    )


def queue_member_bridged(*, account_id: uuid.UUID, member_id: uuid.UUID) -> None:
    """The claimed caller is in the agent's bridge: it has left the queue, `bridged`, and the agent
    hears so."""
    with tenant_scope(account_id):
        member = (
            QueueMember.objects.select_for_update(of=("self",))
            .filter(id=member_id, status=Status.BRIDGING)
            .select_related("dequeued_by")
            .first()
        )
        if member is None:
            return
        member.bridged_at = timezone.now()
        _leave(member, Result.BRIDGED)
        if member.dequeued_by is not None:
            call_signal(call=member.dequeued_by, name=JOINED, payload={"member_id": str(member.id)})


def queue_member_requeue(*, account_id: uuid.UUID, member_id: uuid.UUID, bridge_id: str) -> bool:
    """The claim for `bridge_id` ended before the bridge (the agent hung up or gave up waiting): the
    caller is back to waiting, at its old place. A later agent's claim on it is left alone."""
    with tenant_scope(account_id):
        return _requeue(QueueMember.objects.filter(id=member_id, bridge_id=bridge_id))


def _requeue(members: QuerySet[QueueMember]) -> bool:
    return bool(
        members.filter(status=Status.BRIDGING).update(
            status=Status.WAITING, dequeued_by=None, bridge_id="", date_updated=timezone.now()
        )
    )


def queue_call_ended(*, call: Call) -> bool:
    """In the transaction ending `call`, for a call whose flow did not see it out (its ARI worker
    died, or the flow failed): a membership it still holds leaves (`hangup`), and a caller it was
    dequeuing goes back in line. True when it was still in a queue (its task is then the caller's to
    settle). In the ordinary end both are done already, and this changes nothing. A call that never
    used a queue (`Call.has_used_queue`) costs no query."""
    if not call.has_used_queue:
        return False
    _requeue(QueueMember.objects.filter(dequeued_by=call))
    member = (
        QueueMember.objects.select_for_update(of=("self",))
        .filter(call=call)
        .exclude(status=Status.LEFT)
        .first()
    )
    if member is None:
        return False
    _leave(member, Result.HANGUP)
    return True


def queue_member_dequeue(*, member: QueueMember, actor: str, url: str, method: str) -> QueueMember:
    """The Members API's dequeue: the caller leaves the queue (`redirected`) and its call runs the
    TwiML at `url`. Its signal is sent before the commit: if Redis cannot carry it, nothing changes
    (503) rather than the caller being out of the queue yet never told. Acting on it reads nothing of
    the member's row."""
    with transaction.atomic():
        locked = (
            QueueMember.objects.select_for_update(of=("self",))
            .filter(id=member.id, status=Status.WAITING)
            .select_related("call", "queue")
            .first()
        )
        if locked is None:
            raise TwilioError(ErrorCode.NOT_FOUND, f"Call {member.call.sid} is no longer in the queue", 404)
        _leave(locked, Result.REDIRECTED)
        audit_record(
            account_id=locked.account_id,
            actor=actor,
            action="queue_member.dequeue",
            object_sid=locked.call.sid,
            payload={"queue_sid": locked.queue.sid, "url": url, "method": method},
        )
        payload = {"member_id": str(locked.id), "kind": "redirect", "url": url, "method": method}
        try:
            call_signal_now(call=locked.call, name=DEQUEUE, payload=payload)
        except CallUnreachable as exc:
            raise TwilioError(ErrorCode.SERVICE_UNAVAILABLE, f"{exc}; retry the request", 503) from exc
    return member
