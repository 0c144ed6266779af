"""Supervisors listening to, whispering to and barging into live calls: the checks, the row, the audit
entry, and the command to the ARI worker process running the call (voice/ari_monitor.py does the
ARI side there; its reports come back through `monitor_connected` and `monitor_ended`).

Listening is silent by construction: the snoop's `whisper` is `none`, so nothing the supervisor
says has a way into the call. Every start, change, stop and refusal is in the account's audit chain
(`call.monitor.<verb>`), with who, which call, which mode.
"""

import uuid
from typing import Any, Literal

from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from compliance.services import audit_record
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.models import save_unique
from core.sids import row_by_sid
from core.tenancy import tenant_scope
from tenants.models import Account, Membership
from tenants.roles import MONITOR_ROLES
from voice import control_channel
from voice.models import Call, CallMonitor
from voice.signals import call_ended

Mode = CallMonitor.Mode
# The snoop's `whisper` for each mode: who hears the supervisor (nobody, the agent, both sides).
WHISPER: dict[str, str] = {Mode.LISTEN: "none", Mode.WHISPER: "out", Mode.BARGE: "both"}


def _mode(mode: str) -> str:
    if mode not in WHISPER:
        raise TwilioError(ErrorCode.INVALID_PARAMETER, f"Mode must be one of {', '.join(WHISPER)}", 400)
    return mode


def _audit(monitor: CallMonitor, *, actor: str, verb: str, reason: str = "") -> None:
    payload = {
        "monitor": monitor.sid,
        "supervisor": monitor.supervisor.sid,
        "mode": monitor.mode,
        "at": timezone.now().isoformat(),
        **({"reason": reason} if reason else {}),
    }
    audit_record(
        account_id=monitor.account_id,
        actor=actor,
        action=f"call.monitor.{verb}",
        object_sid=monitor.call.sid,
        payload=payload,
    )


def _leg(call: Call) -> Call:
    """The leg to snoop for `call`: its live outbound leg (the agent a caller was put through to)
    when it has one, else the call itself. (A `<Dial>` leg's row says `initiated` until it ends: its
    parent's flow writes its answer and end together.)"""
    leg = (
        Call.objects.filter(parent_call=call, direction=Call.Direction.OUTBOUND_DIAL)
        .exclude(status__in=Call.ENDED)
        .select_related("parent_call")
        .order_by("-date_created")
        .first()
    )
    return leg or call


def _runner(leg: Call) -> Call:
    """The call whose ARI worker process runs `leg`: its parent's, for a `<Dial>` leg."""
    return leg.parent_call if leg.parent_call is not None else leg


def _command(
    monitor: CallMonitor, op: Literal["start", "change", "stop"], *, target: str = "", caller_id: str = ""
) -> None:
    """Publish the command once the row and its audit entry are committed."""
    leg = monitor.call
    command = control_channel.Monitor(
        action="monitor",
        call_sid=_runner(leg).sid,
        channel_id=leg.channel_id,
        monitor_id=str(monitor.id),
        account_id=str(monitor.account_id),
        op=op,
        whisper=WHISPER[monitor.mode],
        target=target,
        caller_id=caller_id,
    )
    transaction.on_commit(lambda: control_channel.publish(leg.media_server_id, command))


def monitor_start(
    *, account: Account, supervisor: Membership, call_sid: str, mode: str, target: str, actor: str
) -> CallMonitor:
    """Ring the supervisor at `target` (a number or `sip:` URI, their worker's contact) and, once they
    answer, let them hear `call_sid` (or the agent leg it was put through to) in `mode`.

    A call that is not the account's is not found (20404, the same answer as a SID that exists
    nowhere), and that refusal is audited; a call not in progress is refused with 21220."""
    _mode(mode)
    if supervisor.role not in MONITOR_ROLES or supervisor.account_id != account.id:
        raise TwilioError(ErrorCode.PERMISSION_DENIED, "Your role does not allow monitoring calls", 403)
    call = row_by_sid(Call.objects.for_account(account), call_sid)
    if call is None:
        audit_record(
            account_id=account.id,
            actor=actor,
            action="call.monitor.refused",
            object_sid=call_sid[:34],
            payload={"mode": mode, "supervisor": supervisor.sid, "reason": "not found"},
        )
        raise TwilioError(ErrorCode.NOT_FOUND, f"The requested resource Call {call_sid} was not found", 404)
    leg = _leg(call)
    runner = _runner(leg)
    if runner.status != Call.Status.IN_PROGRESS or leg.status in Call.ENDED or not leg.channel_id:
        raise TwilioError(ErrorCode.INVALID_CALL_STATE, f"Call {call_sid} is not in progress", 400)
    if not target:
        raise TwilioError(
            ErrorCode.INVALID_PARAMETER, "You have no phone to ring: give your worker a contact_uri", 400
        )
    monitor = CallMonitor(account=account, call=leg, supervisor=supervisor, mode=mode, target=target)
    save_unique(
        monitor,
        TwilioError(ErrorCode.INVALID_CALL_STATE, f"You are already monitoring call {call_sid}", 409),
        force_insert=True,
    )
    _audit(monitor, actor=actor, verb="start")
    if not leg.has_been_monitored:
        Call.objects.filter(id=leg.id).update(has_been_monitored=True)
    caller_id = runner.to_number if runner.direction == Call.Direction.INBOUND else runner.from_number
    _command(monitor, "start", target=target, caller_id=caller_id)
    return monitor


def monitor_get(*, account: Account, supervisor: Membership, sid: str) -> CallMonitor:
    """The supervisor's own monitor `sid` (another's, or another account's, is not found)."""
    monitor = row_by_sid(
        CallMonitor.objects.for_account(account).filter(supervisor=supervisor).select_related("call"), sid
    )
    if monitor is None:
        raise TwilioError(ErrorCode.NOT_FOUND, f"The requested resource Monitor {sid} was not found", 404)
    return monitor


def monitor_change(*, monitor: CallMonitor, mode: str, actor: str) -> CallMonitor:
    """Switch a live monitor's mode; the worker adds the new snoop before it drops the old one."""
    _mode(mode)
    locked = (
        CallMonitor.objects.select_for_update(of=("self",))
        .select_related("call__parent_call", "supervisor")
        .get(id=monitor.id)
    )
    if locked.status == CallMonitor.Status.ENDED:
        raise TwilioError(ErrorCode.INVALID_CALL_STATE, f"Monitor {monitor.sid} has ended", 400)
    if locked.mode != mode:
        locked.mode = mode
        locked.save(update_fields=["mode", "date_updated"])
        _audit(locked, actor=actor, verb="change")
        _command(locked, "change")
    return locked


def monitor_stop(*, monitor: CallMonitor, actor: str) -> CallMonitor:
    """End a monitor: the supervisor's leg is hung up and the snoop and bridge removed. Stopping one
    that has ended changes nothing."""
    locked = (
        CallMonitor.objects.select_for_update(of=("self",))
        .select_related("call__parent_call", "supervisor")
        .get(id=monitor.id)
    )
    if locked.status != CallMonitor.Status.ENDED:
        _end(locked, reason="Stopped by the supervisor")
        _audit(locked, actor=actor, verb="stop")
        _command(locked, "stop")
    return locked


def _end(monitor: CallMonitor, *, reason: str) -> None:
    monitor.status = CallMonitor.Status.ENDED
    monitor.ended_at = timezone.now()
    monitor.end_reason = reason
    monitor.save(update_fields=["status", "ended_at", "end_reason", "date_updated"])


# Reports from the ARI worker, each its own tenant-scoped transaction.


def monitor_connected(*, account_id: uuid.UUID, monitor_id: uuid.UUID) -> None:
    """The supervisor answered and hears the call."""
    with tenant_scope(account_id):
        CallMonitor.objects.filter(id=monitor_id, status=CallMonitor.Status.CONNECTING).update(
            status=CallMonitor.Status.ACTIVE, date_updated=timezone.now()
        )


def _live(**lookup: Any) -> list[CallMonitor]:
    return list(
        CallMonitor.objects.select_for_update(of=("self",))
        .select_related("call", "supervisor")
        .filter(**lookup)
        .exclude(status=CallMonitor.Status.ENDED)
    )


def monitor_ended(*, account_id: uuid.UUID, monitor_id: uuid.UUID, reason: str) -> None:
    """The monitor ended in Asterisk (the call or the supervisor hung up, or it never started); one
    the supervisor stopped is already ended. Audited as the platform's doing."""
    with tenant_scope(account_id), transaction.atomic():
        for monitor in _live(id=monitor_id):
            _end(monitor, reason=reason)
            _audit(monitor, actor="platform", verb="end", reason=reason)


@receiver(call_ended, sender=Call)
def monitors_end_with_call(sender: type[Call], call: Call, **kwargs: Any) -> None:
    """In the transaction ending a monitored call: its monitors end too. The worker running it tears
    their channels down as the snoop goes; this also covers a worker restart, whose reconciliation
    ends the calls it can no longer run (and hangs up their monitors' leftover channels)."""
    if call.has_been_monitored:
        for monitor in _live(call=call):
            _end(monitor, reason="The call ended")
            _audit(monitor, actor="platform", verb="end", reason="The call ended")
