"""The agent console's control of an agent's live call: a caller a TaskRouter `dequeue` bridged to a
worker. Who may act on it (the worker on it, or a supervisor of the account), what a transfer target
is, and the command sent to the ARI worker running the caller's call (`CONTROL`, applied there by
contactcenter/agent_call.py): hold, unhold, a blind or warm transfer, a consultation's completion or
cancellation.

Each function checks, audits and sends in one transaction: a command Redis cannot carry changes
nothing (503). What the command does to the call and its tasks happens on the call's worker, which
owns the call's media and its place in line.
"""

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from asgiref.sync import async_to_sync
from django.db import transaction

from compliance.services import audit_record
from contactcenter.taskrouter.models import Reservation, Task, TaskQueue, Worker, Workspace
from core import egress
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.phone import to_e164
from core.sids import row_by_sid, sid_to_uuid
from voice.call_state import CallUnreachable, call_signal_now
from voice.models import Call

CONTROL = "agent_call.control"  # the signal's name on the caller's call


class Action(StrEnum):
    HOLD = "hold"
    UNHOLD = "unhold"
    TRANSFER = "transfer"
    COMPLETE = "complete"  # a warm transfer's consultation: caller and target bridged, agent out
    CANCEL = "cancel"  # a warm transfer's consultation ended: back to the caller


class Mode(StrEnum):
    BLIND = "blind"
    WARM = "warm"


class TargetKind(StrEnum):
    WORKER = "worker"
    QUEUE = "queue"
    NUMBER = "number"  # a phone number or SIP address


@dataclass(frozen=True)
class AgentCall:
    """A live caller and the accepted reservation of the worker bridged to it."""

    call: Call
    reservation: Reservation


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    to: str  # as given: WK…, WQ…, +1…, sip:…
    contact: str  # what is dialled: the worker's contact_uri, the number or address; '' for a queue


def agent_call_get(
    *, account_id: uuid.UUID, call_sid: str, member_id: uuid.UUID | None, is_supervisor: bool
) -> AgentCall:
    """The account's live call `call_sid` with a worker on it; 20404 otherwise, 20403 unless the
    member is that worker's (`Worker.member`) or a supervisor."""
    call_id = sid_to_uuid(call_sid, "CA")
    call = (
        Call.objects.filter(account_id=account_id, id=call_id).exclude(status__in=Call.ENDED).first()
        if call_id
        else None
    )
    if call is None:
        raise TwilioError(ErrorCode.NOT_FOUND, f"Call {call_sid} is not a live call of this account", 404)
    reservation = (
        Reservation.objects.filter(
            account_id=account_id,
            status=Reservation.Status.ACCEPTED,
            task__status=Task.Status.ASSIGNED,
            task__attributes_json__call_sid=call.sid,
        )
        .select_related("worker", "task__workspace")
        .first()
    )
    if reservation is None:
        raise TwilioError(ErrorCode.NOT_FOUND, f"Call {call_sid} has no agent on it", 404)
    worker = reservation.worker
    if not is_supervisor and (worker is None or member_id is None or worker.member_id != member_id):
        raise TwilioError(
            ErrorCode.PERMISSION_DENIED, "Only the agent on this call or a supervisor may control it", 403
        )
    return AgentCall(call, reservation)


def transfer_target(*, workspace: Workspace, to: str) -> Target:
    """`to` checked: a worker or TaskQueue of the call's workspace, a number, or a SIP address the
    destination policy admits (core/egress.py)."""
    if to.startswith("WK"):
        worker = row_by_sid(Worker.objects.filter(workspace=workspace), to)
        if worker is None:
            raise TwilioError(ErrorCode.NOT_FOUND, f"Worker {to} is not in this workspace", 404)
        contact = str(worker.attributes_json.get("contact_uri", ""))
        if not contact:
            raise TwilioError(ErrorCode.INVALID_PARAMETER, f"Worker {to} has no contact_uri to ring", 400)
        return Target(TargetKind.WORKER, to, contact)
    if to.startswith("WQ"):
        if row_by_sid(TaskQueue.objects.filter(workspace=workspace), to) is None:
            raise TwilioError(ErrorCode.NOT_FOUND, f"TaskQueue {to} is not in this workspace", 404)
        return Target(TargetKind.QUEUE, to, "")
    if to.lower().startswith(("sip:", "sips:")):
        try:
            async_to_sync(egress.sip_destination)(to)
        except egress.DestinationRefused as refused:
            raise TwilioError(refused.code, str(refused), 400) from None
        return Target(TargetKind.NUMBER, to, to)
    number = to_e164(to)
    if number is None:
        raise TwilioError(
            ErrorCode.INVALID_TO_NUMBER,
            f"To must be a worker, a TaskQueue, a number or a SIP address: {to}",
            400,
        )
    return Target(TargetKind.NUMBER, number, number)


def _send(agent_call: AgentCall, *, actor: str, action: Action, detail: dict[str, Any]) -> None:
    """Audit and send one command for the call's current reservation (a stale one is ignored there)."""
    call, reservation = agent_call.call, agent_call.reservation
    payload = {"action": action.value, "reservation_id": str(reservation.id), **detail}
    with transaction.atomic():
        audit_record(
            account_id=call.account_id,
            actor=actor,
            action=f"call_control.{action.value}",
            object_sid=call.sid,
            payload={"reservation_sid": reservation.sid, **detail},
        )
        try:
            call_signal_now(call=call, name=CONTROL, payload=payload)
        except CallUnreachable as exc:
            raise TwilioError(ErrorCode.SERVICE_UNAVAILABLE, f"{exc}; retry", 503) from exc


def call_hold(*, agent_call: AgentCall, actor: str) -> None:
    """The caller hears the hold music, the agent nothing of the caller, until `call_unhold`."""
    _send(agent_call, actor=actor, action=Action.HOLD, detail={})


def call_unhold(*, agent_call: AgentCall, actor: str) -> None:
    _send(agent_call, actor=actor, action=Action.UNHOLD, detail={})


def call_transfer(*, agent_call: AgentCall, actor: str, to: str, mode: str) -> Target:
    """Blind: the agent leaves at once (its reservation wrapping) and the caller goes to the target:
    a new task for a worker or TaskQueue (Flex's attributes: `transferTargetType`,
    `transferTargetSid`), or a dial of a number or SIP address. Warm: the caller is held while the
    agent consults the target (a worker's contact, a number or address); then `call_complete` or
    `call_cancel`."""
    if mode not in (Mode.BLIND, Mode.WARM):
        raise TwilioError(ErrorCode.INVALID_PARAMETER, "Mode must be blind or warm", 400)
    target = transfer_target(workspace=agent_call.reservation.task.workspace, to=to.strip())
    if mode == Mode.WARM and target.kind == TargetKind.QUEUE:
        raise TwilioError(
            ErrorCode.INVALID_PARAMETER, "A warm transfer consults a worker, a number or a SIP address", 400
        )
    detail = {"to": target.to, "kind": target.kind.value, "contact": target.contact, "mode": mode}
    _send(agent_call, actor=actor, action=Action.TRANSFER, detail=detail)
    return target


def call_complete(*, agent_call: AgentCall, actor: str) -> None:
    _send(agent_call, actor=actor, action=Action.COMPLETE, detail={})


def call_cancel(*, agent_call: AgentCall, actor: str) -> None:
    _send(agent_call, actor=actor, action=Action.CANCEL, detail={})
