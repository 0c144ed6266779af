"""A live call's state: moved forward, redirected, signalled or ended (exactly once), and the calls
still live on a media server.

The ARI worker calls these from its asyncio tasks (`voice.store.db`); each opens its own
tenant-scoped transaction and queues status callbacks on commit through the webhook outbox.
"""

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

import redis
from django.db import transaction
from django.utils import timezone

from compliance.services import audit_record
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.tenancy import tenant_scope
from monitor.notifications import notification_record
from voice import control_channel
from voice.models import Call, CallEvent
from voice.signals import call_ended, call_logged
from voice.status_callbacks import CALLBACK_EVENT_FOR_STATUS, status_callback_send
from voice.timeline import TimelineEntry, event_add, timeline_insert


def _call_moved(
    call_id: uuid.UUID, assignments: str, params: dict[str, Any], also_unless: str = ""
) -> Call | None:
    """Apply `assignments` to a call that has not ended (nor is in status `also_unless`) in one
    conditional UPDATE, and return it as it now is; None when it had. The call path's writes are
    the worker's main cost per call: this is one statement where the ORM took a locking SELECT
    and an UPDATE."""
    ended = sorted(Call.ENDED)
    found = list(
        Call.objects.raw(
            f"UPDATE {Call._meta.db_table} SET {assignments}, date_updated = %(now)s "
            "WHERE id = %(id)s AND status <> ALL(%(ended)s::varchar[]) AND status <> %(unless)s::varchar "
            "RETURNING *",
            {**params, "id": call_id, "ended": ended, "unless": also_unless},
        )
    )
    return found[0] if found else None


def call_status_set(
    *,
    account_id: uuid.UUID,
    call_id: uuid.UUID,
    status: str,
    entries: Sequence[TimelineEntry] = (),
    at: datetime | None = None,
) -> None:
    """Move a live call forward (initiated, ringing, in-progress); ended calls go through call_finish.

    `entries` are timeline events noted before it, written in the same transaction, before the
    change's own event; `at` is when the change happened (the worker writes it later).
    """
    now = at or timezone.now()
    with tenant_scope(account_id):
        call = _call_moved(
            call_id,
            """status = %(status)s::varchar, start_time = COALESCE(start_time, %(now)s),
               answered_at = CASE WHEN %(status)s::varchar = 'in-progress' THEN %(now)s
                                  ELSE answered_at END""",
            {"status": status, "now": now},
            also_unless=status,
        )
        if call is None:
            timeline_insert(account_id, call_id, entries)
            return
        timeline_insert(
            account_id, call_id, [*entries, TimelineEntry(CallEvent.Kind.STATUS, status, {}, now)]
        )
        status_callback_send(call, CALLBACK_EVENT_FOR_STATUS.get(status, status))


def call_finish(
    *,
    account_id: uuid.UUID,
    call_id: uuid.UUID,
    status: str | None = None,
    reason: str = "",
    entries: Sequence[TimelineEntry] = (),
) -> bool:
    """End a call exactly once: completed if it was answered, else `status`. False if already ended.

    An inbound call is logged here (`call_logged`: it joins its caller's conversation), in the
    transaction the call writes anyway.

    `entries` are timeline events noted before it, written in the same transaction, before the
    call's own end event.
    """
    now = timezone.now()
    with tenant_scope(account_id):
        call = _call_moved(
            call_id,
            """status = CASE WHEN answered_at IS NOT NULL THEN 'completed' ELSE %(status)s::varchar END,
               end_time = %(now)s""",
            {"status": status or Call.Status.FAILED, "now": now},
        )
        if call is None:
            timeline_insert(account_id, call_id, entries)
            return False
        detail = {"reason": reason} if reason else {}
        ended = TimelineEntry(CallEvent.Kind.STATUS, call.status, detail, now)
        timeline_insert(account_id, call_id, [*entries, ended])
        status_callback_send(call, "completed")
        if call.direction == Call.Direction.INBOUND:  # outbound calls join theirs when created
            call_logged.send(sender=Call, call=call)
        call_ended.send(sender=Call, call=call)
        return True


def call_error_and_fail(call: Call, code: int, message: str) -> None:
    """Inside the call's tenant scope: log the error and end the call as failed."""
    notification_record(account_id=call.account_id, error_code=code, message=message, call_sid=call.sid)
    event_add(call, CallEvent.Kind.ERROR, str(code), {"message": message})
    if call.status not in Call.ENDED:
        call.status = Call.Status.FAILED
        call.end_time = timezone.now()
        call.save(update_fields=["status", "end_time", "date_updated"])
        status_callback_send(call, "completed")
        call_ended.send(sender=Call, call=call)


def call_update(
    *,
    call: Call,
    actor: str,
    url: str = "",
    method: str = "POST",
    twiml: str = "",
    status: str = "",
    status_callback: str | None = None,
) -> Call:
    """Redirect a live call to new TwiML, or end it (`canceled` before answer, `completed` any time)."""
    with transaction.atomic():
        call = Call.objects.select_for_update().get(id=call.id)
        if status_callback is not None:
            call.status_callback = status_callback
            call.save(update_fields=["status_callback", "date_updated"])
        if status == Call.Status.CANCELED and call.status not in (
            Call.Status.QUEUED,
            Call.Status.RINGING,
            Call.Status.INITIATED,
        ):
            raise TwilioError(
                ErrorCode.INVALID_CALL_STATE, "Call is not queued or ringing; cannot cancel", 400
            )
        if (status or url or twiml) and call.status in Call.ENDED:
            raise TwilioError(ErrorCode.INVALID_CALL_STATE, "Call is not in-progress. Cannot redirect.", 400)
        command: control_channel.Redirect | control_channel.Hangup | None = None
        if status in (Call.Status.CANCELED, Call.Status.COMPLETED):
            if call.status != Call.Status.QUEUED:
                command = control_channel.Hangup(
                    action="hangup", call_sid=call.sid, channel_id=call.channel_id
                )
            if call.status in (Call.Status.QUEUED, Call.Status.INITIATED):
                # Ended here, under the row lock the worker's origination takes too
                # (`origination.outbound_call_setup`): a channel not yet created never will be, and
                # one already created is hung up by the command.
                was_initiated = call.status == Call.Status.INITIATED
                call.status = Call.Status.CANCELED
                call.end_time = timezone.now()
                call.save(update_fields=["status", "end_time", "date_updated"])
                event_add(call, CallEvent.Kind.STATUS, "canceled", {})
                if was_initiated:  # its `initiated` callback went out: so does its end
                    status_callback_send(call, "completed")
        elif url or twiml:
            command = control_channel.Redirect(
                action="redirect",
                call_sid=call.sid,
                channel_id=call.channel_id,
                url=url,
                method=method,
                twiml=twiml,
            )
        audit_record(
            account_id=call.account_id,
            actor=actor,
            action="call.update",
            object_sid=call.sid,
            payload={
                "status": status,
                "url": url,
                "twiml_sha256": hashlib.sha256(twiml.encode()).hexdigest(),
            },
        )
        if command is not None and call.media_server_id:
            transaction.on_commit(lambda: control_channel.publish(call.media_server_id, command))
    return call


class CallUnreachable(Exception):
    """The control channel (Redis) did not take a command for a live call."""


def _signal(call: Call, name: str, payload: dict[str, Any]) -> control_channel.Signal:
    return control_channel.Signal(
        action="signal", call_sid=call.sid, channel_id=call.channel_id, name=name, payload=payload
    )


def call_signal(*, call: Call, name: str, payload: dict[str, Any]) -> None:
    """Hand `payload` to the verb `call` runs now (`Interpreter.signal(name)`) once the current
    transaction commits; a call no worker runs any more drops it."""
    command = _signal(call, name, payload)
    transaction.on_commit(lambda: control_channel.publish(call.media_server_id, command))


def call_signal_now(*, call: Call, name: str, payload: dict[str, Any]) -> None:
    """`call_signal` sent at once, inside the transaction, for a change the call must hear of or not
    be made at all: raises CallUnreachable when Redis does not take it, for the caller to roll back
    (sent on commit, it would be lost after the change was kept). The verb may get it before the
    commit, so it must not need to read what this transaction writes."""
    try:
        control_channel.publish(call.media_server_id, _signal(call, name, payload))
    except redis.RedisError as exc:
        raise CallUnreachable(f"Call {call.sid} cannot be reached: {exc}") from exc


class LiveCall(NamedTuple):
    account_id: uuid.UUID
    call_id: uuid.UUID
    channel_id: str
    status: str
    start_time: datetime | None


def live_calls_on(*, media_server_id: int) -> list[LiveCall]:
    """Calls not yet ended on a media server, across tenants.

    Used only by the worker's reconciliation after a reconnect; it reads through the admin
    connection because it must see every tenant's calls to clean up after a crash.
    """
    rows = Call.objects.using("admin").filter(media_server_id=media_server_id).exclude(status__in=Call.ENDED)
    fields = ("account_id", "id", "channel_id", "status", "start_time")
    return [LiveCall(*row) for row in rows.values_list(*fields)]
