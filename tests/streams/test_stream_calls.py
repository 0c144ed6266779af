"""Streams on real calls: sipp calls through Asterisk into the ARI worker, whose stream media goes to
a stand-in bridge (tests/streams/fake_bridge.py) over AudioSocket, as the real bridge's does."""

import json
import time
from collections.abc import Callable, Iterator

import pytest

from monitor.models import Notification, WebhookDelivery
from streams import bridges, contract
from streams.events import reporter
from streams.models import Stream
from tests.conftest import TwilioClient
from tests.live import AriWorker
from tests.streams.fake_bridge import FakeBridge
from tests.voice.dtmf import script_pcap, tone_pcap
from tests.voice.test_call_flows import Lab, _tone_wav
from voice.models import Call

pytestmark = pytest.mark.e2e

APP = "ws://127.0.0.1:9/media"  # the bridge's to reach; this side only checks it with the policy


def stream_of(lab: Lab) -> Stream:
    with lab.db():
        (stream,) = Stream.objects.all()
        return stream


def stream_events(lab: Lab) -> list[str]:
    with lab.db():
        rows = WebhookDelivery.objects.filter(url__endswith="/stream-status").order_by("date_created")
        return [row.params["StreamEvent"] for row in rows]


def until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.fixture
def bridge(announce: Callable[..., None], worker: AriWorker) -> Iterator[Callable[..., FakeBridge]]:
    """A fake bridge, announced as the only live one: the real one the worker runs beside it is
    stopped for this module's tests (the worker is the module's own)."""
    worker.bridge.stop()
    with FakeBridge() as running:

        def start(*, close_after_s: float | None = None) -> FakeBridge:
            running.close_after_s = close_after_s
            announce("fake", running.port)
            return running

        yield start


def test_connect_streams_the_caller_and_resumes_after_connect_when_the_bridge_closes(
    lab: Lab, bridge: Callable[..., FakeBridge]
) -> None:
    fake = bridge(close_after_s=1.5)
    lab.serve(
        voice=f"<Response><Connect><Stream url='{APP}' name='bot' statusCallback='/stream-status'>"
        "<Parameter name='lang' value='en'/></Stream></Connect><Redirect>/after</Redirect></Response>",
        after="<Response><Hangup/></Response>",
    )
    lab.give_number()

    result = lab.call(pcap=tone_pcap(4000))

    assert result.ok, result.explain()
    lab.app.wait_for("/after")  # the document went on after </Connect>
    (connection,) = fake.wait(closed=True)
    stream = stream_of(lab)
    assert connection.leg is not None and connection.leg["stream_sid"] == stream.sid
    assert connection.connection_id == stream.connection_ids[0] and stream.bridge_id == "fake"
    assert connection.leg["bidirectional"] and connection.leg["parameters"] == {"lang": "en"}
    assert connection.frames > 25  # the caller's audio reached the bridge (20 ms frames)
    (call,) = lab.calls()
    assert (stream.status, stream.ended_by, stream.call_id) == ("stopped", "media-ended", call.id)
    assert stream_events(lab) == ["stream-stopped"]
    assert lab.app_channels() == []


def test_the_callers_digits_go_to_the_bridge_and_hanging_up_stops_the_stream_once(
    lab: Lab, bridge: Callable[..., FakeBridge]
) -> None:
    fake = bridge()
    commands = bridges._redis().pubsub()
    commands.subscribe(contract.commands_channel("fake"))
    lab.serve(
        voice=f"<Response><Connect><Stream url='{APP}' statusCallback='/stream-status'/></Connect>"
        "<Say>never heard</Say></Response>"
    )
    lab.give_number()

    pcap = script_pcap(("talk", 1000), ("press", "47"), ("talk", 1000))
    result = lab.call(pcap=pcap, hangup_after_ms=3000)

    assert result.ok, result.explain()
    (connection,) = fake.wait(closed=True)  # its channel hung up with the call
    assert connection.frames > 25
    lab.calls()
    until(lambda: stream_of(lab).status == "stopped")
    stream = stream_of(lab)
    assert stream.ended_by == "call-ended"
    messages = iter(lambda: commands.get_message(timeout=0.5), None)
    sent = [json.loads(m["data"]) for m in messages if m["type"] == "message"]
    digits = [c["digit"] for c in sent if c.get("op") == "dtmf" and c["stream_sid"] == stream.sid]
    commands.close()
    assert digits == ["4", "7"]
    assert stream_events(lab) == ["stream-stopped"]  # once, though the call's end stopped it too
    assert lab.app_channels() == []


def test_start_forks_the_callers_audio_while_play_goes_on(
    lab: Lab, bridge: Callable[..., FakeBridge]
) -> None:
    fake = bridge()
    tone = _tone_wav(2.0)
    lab.app.routes["/tone.wav"] = lambda form: (200, "audio/wav", tone)
    lab.serve(
        voice=f"<Response><Start><Stream url='{APP}' track='both_tracks' statusCallback='/stream-status'/>"
        f"</Start><Play>{lab.app.url}/tone.wav</Play><Hangup/></Response>"
    )
    lab.give_number()

    result = lab.call(pcap=tone_pcap(4000))

    assert result.ok, result.explain()
    inbound, outbound = fake.wait(2, closed=True)  # the fork ended with the call
    assert {inbound.leg["track"], outbound.leg["track"]} == {"inbound", "outbound"}  # type: ignore[index]
    assert inbound.frames > 50 and outbound.frames > 50  # the 2 s of Play went on meanwhile
    assert lab.app.requests_to("/tone.wav")
    lab.calls()
    until(lambda: stream_of(lab).status == "stopped")
    assert stream_events(lab) == ["stream-stopped"]
    assert lab.app_channels() == []


def test_the_api_forks_a_live_call_and_stops_it(lab: Lab, bridge: Callable[..., FakeBridge]) -> None:
    fake = bridge()
    lab.serve(voice="<Response><Say>hello</Say><Pause length='12'/></Response>")
    lab.give_number()
    api = TwilioClient(lab.tenant)

    # The fork, its audio and its stop take about 1 s; a CI machine under load took over 6 s once.
    with lab.start_call(pcap=tone_pcap(12000), hangup_after_ms=10000) as caller:
        call_sid = lab.app.wait_for("/voice")[0].form["CallSid"]
        until(lambda: _status(lab, call_sid) == "in-progress")
        with lab.db():
            created = api.post(
                api.url(f"Calls/{call_sid}/Streams.json"),
                {"Url": APP, "Name": "fork", "StatusCallback": lab.app.url + "/stream-status"},
            )
        assert created.status_code == 201, created.content
        (connection,) = fake.wait()  # the call's worker made the fork
        assert connection.leg is not None and connection.leg["stream_sid"] == created.json()["sid"]
        until(lambda: connection.frames > 10)  # the caller's audio flows while the Pause goes on
        with lab.db():
            stopped = api.post(api.url(f"Calls/{call_sid}/Streams/fork.json"), {"Status": "stopped"})
        assert stopped.json()["status"] == "stopped"
        fake.wait(closed=True)  # its media hung up by the worker, the call going on
        assert _status(lab, call_sid) == "in-progress"
        assert caller.wait().ok
    assert stream_events(lab) == ["stream-stopped"] and stream_of(lab).ended_by == "stopped"


def _status(lab: Lab, call_sid: str) -> str:
    with lab.db():
        return str(Call.objects.get(id=call_sid[2:]).status)


def test_the_bridges_reports_start_and_end_a_connect(lab: Lab, bridge: Callable[..., FakeBridge]) -> None:
    fake = bridge()
    lab.serve(
        voice=f"<Response><Connect action='/after'><Stream url='{APP}' statusCallback='/stream-status'/>"
        "</Connect></Response>",
        after="<Response><Hangup/></Response>",
    )
    lab.give_number()

    with lab.start_call(pcap=tone_pcap(9000)) as caller:
        fake.wait()
        sid = stream_of(lab).sid
        reporter.app_connected(sid)
        reporter.app_connected(sid)
        reporter.app_warning(sid, 31924, "The app sent an unknown message")
        reporter.app_closed(sid)  # the app let go: the Connect ends, its action is fetched
        lab.app.wait_for("/after")
        result = caller.wait()
    assert result.ok, result.explain()
    assert stream_events(lab) == ["stream-started", "stream-stopped"]
    assert stream_of(lab).ended_by == "app-closed"
    assert (31924, Notification.Log.WARNING) in lab.notifications()


def test_a_worker_restarted_mid_stream_ends_the_call_and_its_stream_once(
    lab: Lab, bridge: Callable[..., FakeBridge], worker: AriWorker
) -> None:
    fake = bridge()
    lab.serve(
        voice=f"<Response><Connect><Stream url='{APP}' statusCallback='/stream-status'/></Connect></Response>"
    )
    lab.give_number()
    caller = lab.start_call(pcap=tone_pcap(20000), timeout_s=40)
    fake.wait()

    worker.crash()
    worker.start()  # reconciles: the caller and the stream's channel nobody follows are hung up

    assert caller.wait().ok
    fake.wait(closed=True)
    (call,) = lab.calls()
    assert call.status in Call.ENDED
    stream = stream_of(lab)
    assert (stream.status, stream.ended_by) == ("stopped", "call-ended")
    assert stream_events(lab) == ["stream-stopped"]
    assert lab.app_channels() == []
