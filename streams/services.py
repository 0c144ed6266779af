"""A stream's writes, each in its own tenant-scoped transaction: opened on a live call, given its
bridge, started (the app answered), stopped once, failed once; each with its status callback, queued
through the webhook outbox (signed, retried) as the transaction commits.

Whoever stops a stream first (the worker, the API, the bridge's report, the call's end) wins with its
reason: the others find it stopped and send nothing.
"""

import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.utils import timezone

from core import egress
from core.dates import rfc2822
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.sids import make_sid
from core.tenancy import tenant_scope
from monitor.outbox import webhook_enqueue
from streams.models import Stream
from tenants.models import Account
from voice import call_state, timeline
from voice.models import Call

# The signals the call's worker runs (streams/commands.py): start a fork the API created, hang up a
# stopped stream's media.
START = "streams.start"
HANGUP = "streams.hangup"
MAX_PARAMETERS = 99
# Twilio's limit of live streams on one call. Each is a channel on the media server and a websocket
# from the bridge every tenant shares: unbounded, one document of <Stream>s could take them all.
MAX_LIVE_STREAMS = 4


def stream_url_check(url: str) -> None:
    """Twilio's answers for a URL it cannot stream to, and the destination policy on its host: ws:// is
    allowed too (private networks and tests), query strings are not (values go as `<Parameter>`s).
    The platform's own services (`egress.platform_url`) pass the policy."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TwilioError(ErrorCode.STREAM_MALFORMED_URL, f"Stream url {url!r} is malformed") from exc
    if parts.scheme not in ("ws", "wss"):
        raise TwilioError(
            ErrorCode.STREAM_URL_SCHEME_NOT_SUPPORTED, f"Stream url {url!r}: the scheme must be wss (or ws)"
        )
    if not parts.hostname:
        raise TwilioError(ErrorCode.STREAM_MALFORMED_URL, f"Stream url {url!r} has no host")
    if parts.query:
        raise TwilioError(
            ErrorCode.STREAM_HANDSHAKE_ERROR,
            f"Stream url {url!r}: query strings are not supported; send values as <Parameter>s",
        )
    try:
        default_port = 443 if parts.scheme == "wss" else 80
        egress.resolve(parts.hostname, port or default_port, is_platform=egress.platform_url(url))
    except egress.DestinationRefused as refused:
        raise TwilioError(refused.code, str(refused)) from refused


def stream_open(
    *,
    account_id: uuid.UUID,
    call_id: uuid.UUID,
    url: str,
    name: str | None,
    track: str,
    is_bidirectional: bool,
    parameters: Mapping[str, str],
    status_callback: str,
    status_callback_method: str,
) -> Stream:
    """A stream on a live call, in progress, not yet given a bridge (`stream_media_set`); TwilioError
    for a URL it cannot have, a call that ended (21220), a name a live stream of the call has, or a
    call with MAX_LIVE_STREAMS live already."""
    stream_url_check(url)
    with tenant_scope(account_id):
        call = Call.objects.select_for_update().filter(id=call_id).first()
        if call is None or call.status in Call.ENDED:
            raise TwilioError(
                ErrorCode.INVALID_CALL_STATE, "Call is not in-progress. Cannot create a Stream."
            )
        live = Stream.objects.filter(call=call, status=Stream.Status.IN_PROGRESS).count()
        if live >= MAX_LIVE_STREAMS:  # counted under the call's lock: concurrent opens wait for it
            raise TwilioError(
                ErrorCode.INVALID_PARAMETER,
                f"The call already has {MAX_LIVE_STREAMS} live streams; stop one before starting another",
            )
        stream = Stream(
            account_id=account_id,
            call=call,
            url=url,
            track=track,
            is_bidirectional=is_bidirectional,
            parameters=dict(parameters),
            status_callback=status_callback,
            status_callback_method=status_callback_method or "POST",
        )
        stream.name = name or stream.sid
        try:
            with transaction.atomic():
                stream.save()
        except IntegrityError as exc:
            raise TwilioError(
                ErrorCode.INVALID_PARAMETER, f"The call already has a live stream named {stream.name!r}"
            ) from exc
        return stream


def stream_create(
    *,
    call: Call,
    url: str,
    name: str,
    track: str,
    parameters: Mapping[str, str],
    status_callback: str,
    status_callback_method: str,
) -> Stream:
    """The Streams API: a fork opened on a live call (as `stream_open`), which the call's worker then
    starts (the `START` command, on commit)."""
    stream = stream_open(
        account_id=call.account_id,
        call_id=call.id,
        url=url,
        name=name,
        track=track,
        is_bidirectional=False,
        parameters=parameters,
        status_callback=status_callback,
        status_callback_method=status_callback_method,
    )
    call_state.call_signal(call=call, name=START, payload={"stream_id": str(stream.id)})
    return stream


def stream_media_set(
    *, account_id: uuid.UUID, stream_id: uuid.UUID, bridge_id: str, connection_ids: list[str]
) -> None:
    with tenant_scope(account_id):
        Stream.objects.filter(id=stream_id).update(
            bridge_id=bridge_id, connection_ids=connection_ids, date_updated=timezone.now()
        )


def _callback(stream: Stream, event: str, **extra: str) -> None:
    """The stream's status callback for `event`, if it asked for them (inside its tenant scope)."""
    if not stream.status_callback:
        return
    account = Account.objects.get(id=stream.account_id)
    call_sid = make_sid("CA", stream.call_id)
    params = {
        "AccountSid": account.sid,
        "CallSid": call_sid,
        "StreamSid": stream.sid,
        "StreamName": stream.name,
        "StreamEvent": event,
        "Timestamp": rfc2822(timezone.now()) or "",
        **extra,
    }
    webhook_enqueue(
        account=account,
        url=stream.status_callback,
        method=stream.status_callback_method,
        params=params,
        call_sid=call_sid,
    )


def _moved(stream_id: uuid.UUID, only_if: dict[str, Any], **changes: Any) -> Stream | None:
    """Change the stream if it is still as `only_if` says (a conditional update: one writer wins)."""
    moved = Stream.objects.filter(id=stream_id, **only_if).update(**changes, date_updated=timezone.now())
    return Stream.objects.select_related("call").get(id=stream_id) if moved else None


def stream_started(*, account_id: uuid.UUID, stream_id: uuid.UUID) -> bool:
    """The app's websocket opened: stream-started, once."""
    with tenant_scope(account_id):
        stream = _moved(
            stream_id,
            {"started_at__isnull": True, "status": Stream.Status.IN_PROGRESS},
            started_at=timezone.now(),
        )
        if stream is not None:
            _callback(stream, "stream-started")
        return stream is not None


def stream_stop(*, account_id: uuid.UUID, stream_id: uuid.UUID, ending: str) -> Stream | None:
    """Stop the stream once: stream-stopped, and on commit its media hung up by the call's worker
    (harmless when they are gone already). None if it was stopped before."""
    with tenant_scope(account_id):
        stream = _moved(
            stream_id, {"status": Stream.Status.IN_PROGRESS}, status=Stream.Status.STOPPED, ended_by=ending
        )
        if stream is None:
            return None
        _callback(stream, "stream-stopped")
        if stream.connection_ids and stream.call.status not in Call.ENDED:
            call_state.call_signal(call=stream.call, name=HANGUP, payload=_media(stream))
        return stream


def _media(stream: Stream) -> dict[str, Any]:
    return {"stream_sid": stream.sid, "bridge_id": stream.bridge_id, "connection_ids": stream.connection_ids}


def stream_fail(*, account_id: uuid.UUID, stream_id: uuid.UUID, code: int, message: str) -> bool:
    """The stream cannot go on: stream-error (once) and the error in the call's timeline and the error
    log; the caller stops it (`stream_stop`)."""
    with tenant_scope(account_id):
        stream = _moved(stream_id, {"error_code__isnull": True}, error_code=code, error_message=message)
        if stream is None:
            return False
        _callback(stream, "stream-error", StreamError=message)
    timeline.call_error(account_id=account_id, call_id=stream.call_id, code=code, message=message)
    return True


def stream_warn(*, account_id: uuid.UUID, stream_id: uuid.UUID, code: int, message: str) -> None:
    """Something the app should not have done (31924), for the error log; the stream goes on."""
    with tenant_scope(account_id):
        call_id = Stream.objects.values_list("call_id", flat=True).get(id=stream_id)
    timeline.call_error(account_id=account_id, call_id=call_id, code=code, message=message, warning=True)


def streams_stop_named(
    *, account_id: uuid.UUID, call_id: uuid.UUID, name: str | None, url: str | None
) -> None:
    """`<Stop><Stream name>` (or `url`): the call's live streams so named stopped."""
    with tenant_scope(account_id):
        live = Stream.objects.filter(call_id=call_id, status=Stream.Status.IN_PROGRESS)
        chosen = live.filter(name=name) if name else live.filter(url=url) if url else live.none()
        for stream_id in chosen.values_list("id", flat=True):
            stream_stop(account_id=account_id, stream_id=stream_id, ending=Stream.Ending.STOPPED)


def streams_stop_for_call(*, call: Call) -> None:
    """The call ended: each live stream of it stopped (inside the transaction ending the call)."""
    for stream_id in Stream.objects.filter(call=call, status=Stream.Status.IN_PROGRESS).values_list(
        "id", flat=True
    ):
        stream_stop(account_id=call.account_id, stream_id=stream_id, ending=Stream.Ending.CALL_ENDED)
