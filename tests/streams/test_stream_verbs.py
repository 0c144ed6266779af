"""`<Connect><Stream>`, `<Start><Stream>` and `<Stop><Stream>` on an in-memory call (tests/voice/memory.py)
with the real database and Redis: the bridge picked, the legs' keys it reads, what the call is asked
to do, where the document goes next, and each status callback once."""

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from core import webhooks
from core.tenancy import tenant_scope
from monitor.models import Notification, WebhookDelivery
from streams import bridges, contract
from streams.events import reporter
from streams.models import Stream
from tests.voice.memory import MemoryControl, call_in_progress, run_stored_call
from tests.voice.twiml_app import TwimlApp
from voice.models import Call

APP = "ws://127.0.0.2:9/media"  # the address the `app` fixture's policy admits
CALLBACK = "https://example.com/streams"


@pytest.fixture(autouse=True)
def _committed(monkeypatch: pytest.MonkeyPatch, django_db_blocker: Any) -> Iterator[None]:
    """Rows committed, as the worker's are: the call's event loop has a database connection of its
    own (Django's connections follow asyncio's contexts), which would not see a test's transaction.
    MemoryStore runs services in that loop, where Django must be told ORM calls are fine."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def call() -> Call:
    return call_in_progress("Streams")


@pytest.fixture
def bridge_commands() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """What the worker publishes to bridge "b1"."""
    pubsub = bridges._redis().pubsub()
    pubsub.subscribe(contract.commands_channel("b1"))
    pubsub.get_message(timeout=1)

    def read() -> list[dict[str, Any]]:
        found = []
        while (message := pubsub.get_message(timeout=0.3)) is not None:
            if message["type"] == "message":
                found.append(json.loads(message["data"]))
        return found

    yield read
    pubsub.close()


def streams(call: Call) -> list[Stream]:
    with tenant_scope(call.account_id):
        return list(Stream.objects.filter(call=call).order_by("date_created"))


def callbacks(call: Call) -> list[str]:
    with tenant_scope(call.account_id):
        return [
            d.params["StreamEvent"]
            for d in WebhookDelivery.objects.filter(url=CALLBACK).order_by("date_created")
        ]


def leg(connection_id: str) -> contract.StreamLeg:
    raw = bridges._redis().get(contract.leg_key(connection_id))
    assert raw is not None
    return json.loads(raw)  # type: ignore[no-any-return]


def test_connect_streams_to_the_least_loaded_live_bridge_then_the_document_goes_on(
    app: TwimlApp,
    tmp_path: Path,
    call: Call,
    announce: Callable[..., None],
    bridge_commands: Callable[[], list[dict[str, Any]]],
) -> None:
    announce("b0", 40001, streams=0, seen=contract.STALE_SECONDS + 1)  # emptiest, but dead
    announce("b3", 40004, streams=0, listening=False)  # fresh, but killed: its channel has no listener
    announce("b1", 40002, streams=1)
    announce("b2", 40003, streams=5)
    document = (
        f"<Response><Connect><Stream url='{APP}' name='bot' statusCallback='{CALLBACK}'>"
        "<Parameter name='from_number' value='+14155550100'/></Stream></Connect>"
        "<Say>after the stream</Say></Response>"
    )
    control = MemoryControl(connect_digits="12")
    control, store = run_stored_call(app, tmp_path, call, {"/voice": document}, control)

    assert control.actions == ["answer", "connect", "play", "hangup"]  # the Say after </Connect>
    (media,) = control.media_legs
    assert media.external_host == "127.0.0.1:40002" and uuid.UUID(media.connection_id)
    (stream,) = streams(call)
    assert leg(media.connection_id) == {
        "stream_sid": stream.sid,
        "account_sid": "AC" + call.account_id.hex,
        "call_sid": call.sid,
        "url": APP,
        "name": "bot",
        "track": "inbound",
        "tracks": ["inbound"],
        "legs": 1,
        "bidirectional": True,
        "parameters": {"from_number": "+14155550100"},
        # the upgrade is signed as Twilio signs it: the stream's URL with the account's auth token
        "signature": webhooks.signature(APP, {}, "token"),  # the in-memory call's (tests/voice/memory.py)
    }
    assert bridge_commands() == [
        {"op": "dtmf", "stream_sid": stream.sid, "digit": "1"},
        {"op": "dtmf", "stream_sid": stream.sid, "digit": "2"},
    ]
    assert (stream.bridge_id, stream.connection_ids) == ("b1", [media.connection_id])
    assert (stream.status, stream.ended_by, stream.is_bidirectional) == ("stopped", "media-ended", True)
    assert callbacks(call) == ["stream-stopped"]
    assert store.errors == []


def test_connect_action_is_fetched_when_the_stream_ends(
    app: TwimlApp, tmp_path: Path, call: Call, announce: Callable[..., None]
) -> None:
    announce("b1", 40002)
    routes = {
        "/voice": (
            f"<Response><Connect action='/after'><Stream url='{APP}'/></Connect><Say>skipped</Say></Response>"
        ),
        "/after": "<Response><Hangup/></Response>",
    }
    control, _ = run_stored_call(app, tmp_path, call, routes)
    assert len(app.requests_to("/after")) == 1
    assert control.actions == ["answer", "connect", "hangup"]


def test_start_forks_both_tracks_as_two_legs_and_the_document_goes_on(
    app: TwimlApp, tmp_path: Path, call: Call, announce: Callable[..., None]
) -> None:
    announce("b1", 40002)
    document = (
        f"<Response><Start><Stream url='{APP}' name='fork' track='both_tracks' "
        f"statusCallback='{CALLBACK}'/></Start>"
        "<Play>http://127.0.0.2:9/none.wav</Play></Response>"
    )
    control, _ = run_stored_call(app, tmp_path, call, {"/voice": document})
    assert control.actions[:2] == ["answer", "fork in,out"] and control.actions[-1] == "hangup"
    inbound, outbound = control.media_legs
    (stream,) = streams(call)
    assert (leg(inbound.connection_id)["track"], leg(outbound.connection_id)["track"]) == (
        "inbound",
        "outbound",
    )
    assert leg(inbound.connection_id)["tracks"] == ["inbound", "outbound"]
    assert leg(inbound.connection_id)["legs"] == 2 and not leg(inbound.connection_id)["bidirectional"]
    assert stream.status == "in-progress"  # a fork outlives its verb

    (on_end,) = control.fork_ends
    asyncio.run(on_end())
    asyncio.run(on_end())  # each of its legs may report the end
    assert streams(call)[0].ended_by == "media-ended"
    assert callbacks(call) == ["stream-stopped"]


def test_stop_stops_the_named_stream_only(
    app: TwimlApp,
    tmp_path: Path,
    call: Call,
    announce: Callable[..., None],
    django_capture_on_commit_callbacks: Any,
) -> None:
    announce("b1", 40002)
    document = (
        f"<Response><Start><Stream url='{APP}' name='a'/><Stream url='{APP}' name='b'/></Start>"
        "<Stop><Stream name='a'/></Stop><Pause length='1'/></Response>"
    )
    run_stored_call(app, tmp_path, call, {"/voice": document})
    a, b = streams(call)
    assert (a.name, a.status, a.ended_by) == ("a", "stopped", "stopped")
    assert (b.name, b.status) == ("b", "in-progress")


def test_no_bridge_is_a_stream_error_and_the_call_goes_on(
    app: TwimlApp, tmp_path: Path, call: Call, announce: Callable[..., None]
) -> None:
    announce("b0", 40001, seen=contract.STALE_SECONDS + 1)
    document = (
        f"<Response><Connect><Stream url='{APP}' statusCallback='{CALLBACK}'/></Connect>"
        "<Say>sorry</Say></Response>"
    )
    control, _ = run_stored_call(app, tmp_path, call, {"/voice": document})
    assert control.actions == ["answer", "play", "hangup"] and control.media_legs == []
    (stream,) = streams(call)
    assert (stream.status, stream.ended_by, stream.error_code) == ("stopped", "failed", 12400)
    assert callbacks(call) == ["stream-error", "stream-stopped"]
    with tenant_scope(call.account_id):
        (entry,) = Notification.objects.filter(call_sid=call.sid)
    assert "No media bridge" in entry.message_text


def test_a_bridge_the_media_server_cannot_reach_is_passed_over_for_the_next(
    app: TwimlApp, tmp_path: Path, call: Call, announce: Callable[..., None]
) -> None:
    announce("b1", 40001)  # emptiest, but gone since its last sign of life
    announce("b2", 40002, streams=3)
    announce("b3", 40003, streams=5)
    document = (
        f"<Response><Connect><Stream url='{APP}' statusCallback='{CALLBACK}'/></Connect>"
        f"<Start><Stream url='{APP}'/></Start></Response>"
    )
    control = MemoryControl(unreachable={"127.0.0.1:40001"})
    control, store = run_stored_call(app, tmp_path, call, {"/voice": document}, control)

    assert control.actions == ["answer", "connect", "fork in", "hangup"]
    assert [leg.external_host for leg in control.media_legs] == ["127.0.0.1:40002"] * 2
    connected, forked = streams(call)
    assert connected.bridge_id == forked.bridge_id == "b2"
    assert (connected.ended_by, connected.error_code) == ("media-ended", None)
    assert callbacks(call) == ["stream-stopped"] and store.errors == []

    control = MemoryControl(unreachable={"127.0.0.1:40001", "127.0.0.1:40002", "127.0.0.1:40003"})
    control, _ = run_stored_call(app, tmp_path, call, {"/voice": document}, control)
    assert control.actions == ["answer", "hangup"] and control.media_legs == []
    *_, connected, forked = streams(call)
    assert (connected.error_code, forked.error_code) == (12400, 12400)  # none left: the call goes on


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("wss://127.0.0.2:9/media?token=x", 31920),
        ("wss://10.0.0.1/m", 11205),
    ],
)
def test_a_stream_url_twilio_refuses_is_logged_and_the_document_goes_on(
    app: TwimlApp, tmp_path: Path, call: Call, announce: Callable[..., None], url: str, code: int
) -> None:
    announce("b1", 40002)
    document = (
        f"<Response><Start><Stream url='{url}'/></Start><Connect><Stream url='{url}'/></Connect></Response>"
    )
    control, store = run_stored_call(app, tmp_path, call, {"/voice": document})
    assert control.media_legs == [] and control.actions == ["answer", "hangup"]
    assert [c for c, _ in store.errors] == [code, code]
    assert streams(call) == []


def test_a_bridges_failure_report_is_a_stream_error_once_and_an_unknown_stream_is_ignored(
    app: TwimlApp, tmp_path: Path, call: Call, announce: Callable[..., None]
) -> None:
    announce("b1", 40002)
    document = f"<Response><Start><Stream url='{APP}' statusCallback='{CALLBACK}'/></Start></Response>"
    run_stored_call(app, tmp_path, call, {"/voice": document})
    (stream,) = streams(call)

    reporter.app_failed(stream.sid, 31920, "The app answered the upgrade with 404")
    reporter.app_failed(stream.sid, 31920, "The app answered the upgrade with 404")
    reporter.app_connected("MZ" + uuid.uuid4().hex)  # gone or never ours: nothing to do
    reporter.app_closed("not a sid")

    (failed,) = streams(call)
    assert (failed.status, failed.ended_by, failed.error_code) == ("stopped", "failed", 31920)
    assert callbacks(call) == ["stream-error", "stream-stopped"]
    with tenant_scope(call.account_id):
        entries = list(Notification.objects.filter(call_sid=call.sid).values_list("error_code", "log"))
        (error,) = WebhookDelivery.objects.filter(url=CALLBACK, params__StreamEvent="stream-error")
    assert entries == [(31920, Notification.Log.ERROR)]
    assert error.params["StreamError"] == "The app answered the upgrade with 404"
