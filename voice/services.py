"""Every write about calls and recordings: opened, status changes, timeline events, recordings stored.

The ARI worker calls these from its asyncio tasks through `sync_to_async`; each opens its own
tenant-scoped transaction and queues status callbacks on commit through the webhook outbox.
"""

import hashlib
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from compliance.services import audit_record
from conversations.services import conversation_log_call, conversation_log_recording
from core import sealed
from core.dates import rfc2822
from core.errors import TwilioError
from core.phone import to_e164
from core.sids import make_sid
from core.tenancy import tenant_scope
from monitor.models import Notification
from monitor.services import notification_record, webhook_enqueue
from numbering.models import IncomingPhoneNumber, NumberRoute
from tenants.models import Account
from tenants.selectors import account_status_in_effect
from voice.models import Call, CallEvent, MediaServer, Recording

if TYPE_CHECKING:
    import httpx


def control_channel(media_server_id: int | None) -> str:
    """Redis pub/sub channel from the API to the ARI worker running a media server's calls.

    Named by database too, so two deployments (or test runs) sharing one Redis never cross.
    """
    return f"switchboard:{settings.DATABASE_ROLES.name}:call-control:{media_server_id}"


CALLBACK_EVENT_FOR_STATUS: dict[str, str] = {
    Call.Status.INITIATED: "initiated",
    Call.Status.RINGING: "ringing",
    Call.Status.IN_PROGRESS: "answered",
}


@dataclass(frozen=True)
class CallSetup:
    """What a call task needs to run a call, read once when the call starts."""

    account_id: uuid.UUID
    call_id: uuid.UUID
    call_sid: str
    account_sid: str
    auth_token: str
    from_number: str
    to_number: str
    direction: str
    url: str
    method: str
    fallback_url: str
    fallback_method: str
    twiml: str


def _setup(call: Call, account: Account) -> CallSetup:
    return CallSetup(
        account_id=account.id,
        call_id=call.id,
        call_sid=call.sid,
        account_sid=account.sid,
        auth_token=account.auth_token,
        from_number=call.from_number,
        to_number=call.to_number,
        direction=call.direction,
        url=call.url,
        method=call.method,
        fallback_url=call.fallback_url,
        fallback_method=call.fallback_method,
        twiml=call.twiml,
    )


@dataclass(frozen=True)
class InboundRefused:
    """An inbound call to a suspended account's number: recorded and logged, to be rejected unanswered."""

    account_id: uuid.UUID
    call_id: uuid.UUID
    call_sid: str


def inbound_call_open(
    *, from_number: str, dialled: str, channel_id: str, media_server_id: int | None
) -> CallSetup | InboundRefused | None:
    """Route the dialled number to its account and open the call; None for a number nobody owns.

    The route is the one lookup made before any tenant is known (numbering_numberroute has no RLS).
    A closed account's number counts as nobody's (closing releases its numbers anyway); a suspended
    account's call is refused (`_inbound_refuse`).
    """
    e164 = to_e164(dialled if dialled.startswith("+") else f"+{dialled}")
    route = NumberRoute.objects.filter(phone_number=e164).first() if e164 else None
    if route is None or e164 is None:
        return None
    account_id = route.account_id
    with tenant_scope(account_id):
        # The number and its account in one query (this runs before every inbound call is answered).
        number = next(
            iter(IncomingPhoneNumber.objects.select_related("account").filter(phone_number=e164)), None
        )
        if number is None:
            return None
        account = number.account
        status = account_status_in_effect(account=account)
        if status == Account.Status.CLOSED:
            return None
        is_refused = status == Account.Status.SUSPENDED
        call = Call.objects.create(
            account=account,
            phone_number=number,
            direction=Call.Direction.INBOUND,
            from_number=from_number,
            to_number=e164,
            status=Call.Status.RINGING,
            start_time=timezone.now(),
            url=number.voice_url,
            method=number.voice_method,
            fallback_url=number.voice_fallback_url,
            fallback_method=number.voice_fallback_method,
            # A refused call sends no webhook at all, its status callback included.
            status_callback="" if is_refused else number.status_callback,
            status_callback_method=number.status_callback_method,
            status_callback_events=["completed"],
            media_server_id=media_server_id,
            channel_id=channel_id,
        )
        _event(call, CallEvent.Kind.STATUS, "ringing", {"from": from_number, "to": e164})
        if is_refused:
            return _inbound_refuse(call)
        return _setup(call, account)


def _inbound_refuse(call: Call) -> InboundRefused:
    """End a suspended account's inbound call before it is answered, with Twilio's 10003 ("Incoming
    call rejected due to inactive account": the call is not answered; a suspended subaccount is one of
    its causes; https://www.twilio.com/docs/api/errors/10003) in the account's error log.

    No webhook runs; the call stays in the account's calls and its caller's conversation, failed, as
    a rejected call is here. The caller's transaction must be scoped to the call's account.
    """
    call_error(
        account_id=call.account_id,
        call_id=call.id,
        code=10003,
        message="Incoming call rejected due to inactive account",
        url=call.url,
        method=call.method,
    )
    call_finish(
        account_id=call.account_id, call_id=call.id, status=Call.Status.FAILED, reason="account suspended"
    )
    return InboundRefused(account_id=call.account_id, call_id=call.id, call_sid=call.sid)


def outbound_call_setup(*, account_id: uuid.UUID, call_id: uuid.UUID) -> CallSetup | None:
    with tenant_scope(account_id):
        call = Call.objects.filter(id=call_id).first()
        return _setup(call, Account.objects.get(id=account_id)) if call else None


def _event(call: Call, kind: str, name: str, detail: dict[str, Any], at: datetime | None = None) -> None:
    CallEvent.objects.create(
        account_id=call.account_id,
        call=call,
        kind=kind,
        name=name,
        detail=detail,
        date_created=at or timezone.now(),
    )


@dataclass(frozen=True)
class TimelineEntry:
    """A timeline event the worker noted during a call, written later with the call's next write."""

    kind: str
    name: str
    detail: dict[str, Any]
    at: datetime


def _timeline_insert(account_id: uuid.UUID, call_id: uuid.UUID, entries: Sequence[TimelineEntry]) -> None:
    CallEvent.objects.bulk_create(
        CallEvent(
            account_id=account_id,
            call_id=call_id,
            kind=e.kind,
            name=e.name,
            detail=e.detail,
            date_created=e.at,
        )
        for e in entries
    )


def call_events_add(*, account_id: uuid.UUID, call_id: uuid.UUID, entries: Sequence[TimelineEntry]) -> None:
    with tenant_scope(account_id):
        _timeline_insert(account_id, call_id, entries)


def call_error(
    *,
    account_id: uuid.UUID,
    call_id: uuid.UUID,
    code: int,
    message: str,
    url: str = "",
    method: str = "",
    warning: bool = False,
    entries: Sequence[TimelineEntry] = (),
    at: datetime | None = None,
) -> None:
    """A runtime error for the call's timeline and the account's error log (Twilio's debugger).

    `entries` are timeline events noted before it, written first in the same transaction; `at` is
    when the error happened (the worker writes it later).
    """
    with tenant_scope(account_id):
        _timeline_insert(account_id, call_id, entries)
        call = Call.objects.get(id=call_id)
        _event(call, CallEvent.Kind.ERROR, str(code), {"message": message, "url": url}, at)
        notification_record(
            account_id=account_id,
            error_code=code,
            message=message,
            call_sid=call.sid,
            request_url=url,
            request_method=method,
            log=Notification.Log.WARNING if warning else Notification.Log.ERROR,
        )


def voice_params(
    *, call_sid: str, account_sid: str, from_number: str, to_number: str, status: str, direction: str
) -> dict[str, str]:
    """Twilio's standard voice parameters, sent with every voice webhook and status callback."""
    return {
        "CallSid": call_sid,
        "AccountSid": account_sid,
        "From": from_number,
        "To": to_number,
        "Caller": from_number,
        "Called": to_number,
        "CallStatus": status,
        "Direction": direction,
        "ApiVersion": "2010-04-01",
    }


def status_params(call: Call, account_sid: str) -> dict[str, str]:
    """The standard parameters for this call as it is now."""
    params = voice_params(
        call_sid=call.sid,
        account_sid=account_sid,
        from_number=call.from_number,
        to_number=call.to_number,
        status=call.status,
        direction=call.direction,
    )
    if call.parent_call_id:
        params["ParentCallSid"] = make_sid("CA", call.parent_call_id)
    return params


def _callback(call: Call, event_name: str) -> None:
    if not call.status_callback or event_name not in call.status_callback_events:
        return
    account = Account.objects.get(id=call.account_id)
    params = {
        **status_params(call, account.sid),
        "CallbackSource": "call-progress-events",
        "SequenceNumber": str(call.callback_sequence),
        "Timestamp": rfc2822(timezone.now()) or "",
    }
    if call.status in Call.ENDED:
        duration = str(call.duration_seconds or 0)
        params |= {"CallDuration": duration, "Duration": duration}
    call.callback_sequence += 1
    call.save(update_fields=["callback_sequence"])
    webhook_enqueue(
        account=account,
        url=call.status_callback,
        method=call.status_callback_method,
        params=params,
        call_sid=call.sid,
    )


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
            _timeline_insert(account_id, call_id, entries)
            return
        _timeline_insert(
            account_id, call_id, [*entries, TimelineEntry(CallEvent.Kind.STATUS, status, {}, now)]
        )
        _callback(call, CALLBACK_EVENT_FOR_STATUS.get(status, status))


def call_finish(
    *,
    account_id: uuid.UUID,
    call_id: uuid.UUID,
    status: str | None = None,
    reason: str = "",
    entries: Sequence[TimelineEntry] = (),
) -> bool:
    """End a call exactly once: completed if it was answered, else `status`. False if already ended.

    An inbound call joins its caller's conversation here, in the transaction the call writes anyway.

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
            _timeline_insert(account_id, call_id, entries)
            return False
        detail = {"reason": reason} if reason else {}
        ended = TimelineEntry(CallEvent.Kind.STATUS, call.status, detail, now)
        _timeline_insert(account_id, call_id, [*entries, ended])
        _callback(call, "completed")
        if call.direction == Call.Direction.INBOUND:  # outbound calls join theirs when created
            conversation_log_call(call=call)
        return True


def child_call_open(
    *,
    account_id: uuid.UUID,
    call_id: uuid.UUID,
    to_number: str,
    from_number: str,
    media_server_id: int | None,
) -> uuid.UUID:
    """The outbound-dial leg of a <Dial>; its SID is also its ARI channel id.

    Raises TwilioError 13214 unless the caller ID is one of the account's numbers or, forwarding an
    inbound call, the caller's own number: no tenant presents another's number.
    """
    with tenant_scope(account_id):
        if not _may_present(account_id, call_id, from_number):
            raise TwilioError(13214, f"Dial callerId {from_number} is not a number of this account", 400)
        child = Call(
            account_id=account_id,
            parent_call_id=call_id,
            direction=Call.Direction.OUTBOUND_DIAL,
            to_number=to_number,
            from_number=from_number,
            status=Call.Status.INITIATED,
            start_time=timezone.now(),
            media_server_id=media_server_id,
        )
        child.channel_id = child.sid
        child.save(force_insert=True)
        _event(child, CallEvent.Kind.STATUS, "initiated", {})
        return child.id


def _may_present(account_id: uuid.UUID, call_id: uuid.UUID, caller_id: str) -> bool:
    if IncomingPhoneNumber.objects.filter(account_id=account_id, phone_number=caller_id).exists():
        return True
    return Call.objects.filter(id=call_id, direction=Call.Direction.INBOUND, from_number=caller_id).exists()


def callback_enqueue(
    *, account_id: uuid.UUID, url: str, method: str, params: dict[str, str], call_sid: str
) -> None:
    with tenant_scope(account_id):
        webhook_enqueue(
            account=Account.objects.get(id=account_id),
            url=url,
            method=method,
            params=params,
            call_sid=call_sid,
        )


def media_server_seen(*, server_id: int) -> None:
    MediaServer.objects.filter(id=server_id).update(state=MediaServer.State.UP, last_seen_at=timezone.now())


def live_calls_on(*, media_server_id: int) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    """(account id, call id, channel id) of calls not yet ended on a media server, across tenants.

    Used only by the worker's reconciliation after a reconnect; it reads through the admin
    connection because it must see every tenant's calls to clean up after a crash.
    """
    rows = Call.objects.using("admin").filter(media_server_id=media_server_id).exclude(status__in=Call.ENDED)
    return [(r.account_id, r.id, r.channel_id) for r in rows.only("account_id", "id", "channel_id")]


def recording_store(
    *, account_id: uuid.UUID, call_id: uuid.UUID, audio: bytes, duration_seconds: int, source: str
) -> Recording:
    """Seal the audio to disk, record its digests in the audit chain, and return the Recording."""
    with transaction.atomic(), tenant_scope(account_id):
        recording = Recording(
            account_id=account_id,
            call_id=call_id,
            status=Recording.Status.COMPLETED,
            source=source,
            duration_seconds=duration_seconds,
        )
        blob, wrapped = sealed.seal(audio, blob_id=recording.sid, key_aad=recording_key_aad(recording))
        folder = settings.RECORDINGS_DIR / str(account_id)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{recording.sid}.sealed"
        path.write_bytes(blob)
        recording.media_path = str(path)
        recording.data_key_encrypted = wrapped
        recording.media_sha256 = hashlib.sha256(blob).hexdigest()
        recording.plaintext_sha256 = hashlib.sha256(audio).hexdigest()
        recording.save(force_insert=True)
        audit_record(
            account_id=account_id,
            actor="worker:voice",
            action="recording.create",
            object_sid=recording.sid,
            payload={"sha256": recording.plaintext_sha256, "sealed_sha256": recording.media_sha256},
        )
        transaction.on_commit(lambda: conversation_log_recording(recording=recording), robust=True)
    return recording


def recording_key_aad(recording: Recording) -> str:
    return f"{recording.account_id}|voice_recording|data_key|{recording.id}"


def recording_audio(recording: Recording) -> bytes:
    blob = open(recording.media_path, "rb").read()  # noqa: SIM115
    return sealed.unseal(
        blob,
        blob_id=recording.sid,
        wrapped_key=recording.data_key_encrypted,
        key_aad=recording_key_aad(recording),
    )


def recording_delete(*, recording: Recording, actor: str) -> None:
    with transaction.atomic():
        audit_record(
            account_id=recording.account_id, actor=actor, action="recording.delete", object_sid=recording.sid
        )
        path = recording.media_path
        recording.delete()
        transaction.on_commit(lambda: _unlink(path))


def _unlink(path: str) -> None:
    import os

    if path and os.path.exists(path):
        os.unlink(path)


@dataclass(frozen=True)
class OutboundRequest:
    to_number: str
    from_number: str
    url: str
    method: str
    fallback_url: str
    fallback_method: str
    twiml: str
    status_callback: str
    status_callback_method: str
    status_callback_events: list[str]
    timeout_seconds: int
    is_recorded: bool


def call_create(*, account: Account, actor: str, request: OutboundRequest) -> Call:
    """Queue an outbound call (Calls API); Celery originates it once this transaction commits."""
    from voice.tasks import call_originate_task

    with transaction.atomic():
        call = Call.objects.create(
            account=account,
            direction=Call.Direction.OUTBOUND_API,
            to_number=request.to_number,
            from_number=request.from_number,
            status=Call.Status.QUEUED,
            url=request.url,
            method=request.method,
            fallback_url=request.fallback_url,
            fallback_method=request.fallback_method,
            twiml=request.twiml,
            status_callback=request.status_callback,
            status_callback_method=request.status_callback_method,
            status_callback_events=request.status_callback_events,
            timeout_seconds=request.timeout_seconds,
            is_recorded=request.is_recorded,
        )
        call.channel_id = call.sid
        call.save(update_fields=["channel_id"])
        _event(call, CallEvent.Kind.STATUS, "queued", {})
        audit_record(
            account_id=account.id,
            actor=actor,
            action="call.create",
            object_sid=call.sid,
            payload={"to": request.to_number, "from": request.from_number},
        )
        transaction.on_commit(lambda: call_originate_task.delay(str(account.id), str(call.id)))
        transaction.on_commit(lambda: conversation_log_call(call=call), robust=True)
    return call


def call_originate(*, account_id: uuid.UUID, call_id: uuid.UUID) -> None:
    """Create the call's channel on a media server and dial it; the ARI worker takes it from there.

    Idempotent: only a call still `queued` is originated, so a redelivered task does nothing.
    """
    import httpx

    with tenant_scope(account_id):
        call = Call.objects.select_for_update().get(id=call_id)
        if call.status != Call.Status.QUEUED:
            return
        server = MediaServer.objects.filter(is_enabled=True).order_by("-state", "id").first()
        if server is None:
            call_error_and_fail(call, 21214, "No media server is available to place the call")
            return
        call.media_server = server
        call.status = Call.Status.INITIATED
        call.start_time = timezone.now()
        call.save(update_fields=["media_server", "status", "start_time", "date_updated"])
        _event(call, CallEvent.Kind.STATUS, "initiated", {"media_server": server.name})
        _callback(call, "initiated")
    trunk = server.trunk_uri.removeprefix("sip:")
    try:
        with httpx.Client(
            base_url=server.ari_url, auth=(server.ari_username, server.ari_password), timeout=10
        ) as ari:
            created = ari.post(
                "/channels/create",
                params={
                    "endpoint": f"PJSIP/trunk/sip:{call.to_number}@{trunk}",
                    "app": _connected_app(ari, server),
                    "appArgs": f"outbound,{account_id}",
                    "channelId": call.sid,
                    "callerId": call.from_number,
                },
            )
            created.raise_for_status()
            # channels/create replies before the channel enters Stasis, and dial refuses it until then.
            for _ in range(50):
                dialled = ari.post(f"/channels/{call.sid}/dial", params={"timeout": call.timeout_seconds})
                if dialled.status_code not in (409, 422):
                    break
                time.sleep(0.02)
            dialled.raise_for_status()
    except httpx.HTTPError as exc:
        with tenant_scope(account_id):
            call_error_and_fail(Call.objects.get(id=call_id), 21214, f"Could not originate the call: {exc}")


def _connected_app(ari: "httpx.Client", server: MediaServer) -> str:
    """One of the server's worker apps with a worker connected now, at random, to spread the load.

    If none is connected the first app is named anyway: the call then fails like any unanswered one.
    """
    apps = server.stasis_apps
    if len(apps) == 1:
        return apps[0]
    response = ari.get("/applications")
    response.raise_for_status()
    connected = {app["name"] for app in response.json()}
    return random.choice([app for app in apps if app in connected] or apps[:1])  # noqa: S311


def call_error_and_fail(call: Call, code: int, message: str) -> None:
    """Inside the call's tenant scope: log the error and end the call as failed."""
    notification_record(account_id=call.account_id, error_code=code, message=message, call_sid=call.sid)
    _event(call, CallEvent.Kind.ERROR, str(code), {"message": message})
    if call.status not in Call.ENDED:
        call.status = Call.Status.FAILED
        call.end_time = timezone.now()
        call.save(update_fields=["status", "end_time", "date_updated"])
        _callback(call, "completed")


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
            raise TwilioError(21220, "Call is not queued or ringing; cannot cancel", 400)
        if (status or url or twiml) and call.status in Call.ENDED:
            raise TwilioError(21220, "Call is not in-progress. Cannot redirect.", 400)
        command: dict[str, str] = {}
        if status in (Call.Status.CANCELED, Call.Status.COMPLETED):
            if call.status == Call.Status.QUEUED:
                call.status = Call.Status.CANCELED
                call.end_time = timezone.now()
                call.save(update_fields=["status", "end_time", "date_updated"])
                _event(call, CallEvent.Kind.STATUS, "canceled", {})
            else:
                command = {"action": "hangup"}
        elif url or twiml:
            command = {"action": "redirect", "url": url, "method": method, "twiml": twiml}
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
        if command and call.media_server_id:
            message = {**command, "call_sid": call.sid, "channel_id": call.channel_id}
            transaction.on_commit(lambda: _publish_control(call.media_server_id, message))
    return call


def _publish_control(media_server_id: int | None, message: dict[str, str]) -> None:
    import json

    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.publish(control_channel(media_server_id), json.dumps(message))
    client.close()
