"""Faults on real calls with the real media bridge: sipp calls through Asterisk into the ARI worker,
whose streams go to `manage.py media_bridge` processes and on to a websocket app on loopback, which
misbehaves as its URL's path says. Each fault must leave the call going on (or ended cleanly), each
stream stopped with its callbacks sent once, and no channel behind in Asterisk."""

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from monitor.models import Notification, WebhookDelivery
from streams import bridges, contract
from streams.models import Stream
from tests.contactcenter.test_voice_routing import wait_for
from tests.live import AriWorker, MediaBridge, free_port, media_bridge
from tests.streams.harness import Heard, RunningApp
from tests.voice.dtmf import tone_pcap
from tests.voice.test_call_flows import Lab, _tone_wav
from voice.models import Call

pytestmark = pytest.mark.e2e

BAD_FRAMES: list[str | bytes] = ["{not json", b"\x00\x01binary", "[not json either"]


async def misbehave(heard: Heard) -> None:
    """The app's conduct, by its URL's path: /listen only listens; /close closes after 10 frames of
    the caller's audio; /close-at-once closes as soon as it is open; /bad sends invalid JSON and a
    binary frame after 5 frames, then listens to 30 more before it closes."""
    assert heard.socket is not None
    path = heard.socket.request.path if heard.socket.request else ""

    def media(count: int) -> bool:
        return len(heard.events("media")) >= count

    if path == "/close-at-once":
        await heard.socket.close()
    elif path == "/close":
        await heard.until(lambda: media(10))
        await heard.socket.close()
    elif path == "/bad":
        await heard.until(lambda: media(5))
        for frame in BAD_FRAMES:
            await heard.send(frame)
        await heard.until(lambda: media(35), timeout=10)
        await heard.socket.close()


@pytest.fixture
def ws_app() -> Iterator[RunningApp]:
    """The misbehaving app; its `url` is the base to add a path to."""
    with RunningApp(misbehave) as running:
        running.url = running.url.rsplit("/", 1)[0]
        yield running


@pytest.fixture
def bridge(worker: AriWorker) -> Iterator[MediaBridge]:
    """The worker's own bridge, running (a test before may have killed it)."""
    if not worker.bridge.is_running:
        worker.bridge.start()
    yield worker.bridge


def streams_of(lab: Lab) -> list[Stream]:
    with lab.db():
        return list(Stream.objects.order_by("date_created"))


def callbacks(lab: Lab) -> list[tuple[str, str]]:
    """(stream name, StreamEvent) of each stream-status callback, in order."""
    with lab.db():
        rows = WebhookDelivery.objects.filter(url__endswith="/stream-status").order_by("date_created")
        return [(row.params["StreamName"], row.params["StreamEvent"]) for row in rows]


def channels(lab: Lab) -> list[str]:
    """Every channel Asterisk has, in Stasis or not."""
    a = lab.asterisk
    response = httpx.get(f"{a.ari_url}/channels", auth=(a.ari_username, a.ari_password))
    return [c["name"] for c in response.json()]


def bridge_id_of(bridge: MediaBridge) -> str:
    (bridge_id,) = [
        bridge_id.decode()
        for bridge_id, raw in bridges._redis().hgetall(contract.bridges_key()).items()
        if json.loads(raw)["port"] == bridge.port
    ]
    return bridge_id


def attempts(stream: Stream) -> int:
    """The legs the worker wrote for the stream: one a bridge it tried."""
    redis = bridges._redis()
    legs = [json.loads(redis.get(key) or "{}") for key in redis.scan_iter(contract.leg_key("*"))]
    return [leg.get("stream_sid") for leg in legs].count(stream.sid)


def stream(url: str, name: str, then: str = "/listen", track: str = "inbound_track") -> str:
    return f"<Stream url='{url}{then}' name='{name}' track='{track}' statusCallback='/stream-status'/>"


def test_a_bridge_killed_mid_connect_resumes_the_document_and_the_next_stream_skips_it(
    lab: Lab, bridge: MediaBridge, ws_app: RunningApp
) -> None:
    lab.serve(
        voice=f"<Response><Connect>{stream(ws_app.url, 'first')}</Connect>"
        f"<Connect>{stream(ws_app.url, 'second', '/close')}</Connect>"
        "<Redirect>/after</Redirect></Response>",
        after="<Response><Hangup/></Response>",
    )
    lab.give_number()

    with media_bridge() as other:
        caller = lab.start_call(pcap=tone_pcap(9000), timeout_s=30)
        (first,) = ws_app.wait(media=25)
        (carrying,) = streams_of(lab)
        redis = bridges._redis()
        announced = json.loads(redis.hget(contract.bridges_key(), carrying.bridge_id) or "{}")
        killed, survivor = (bridge, other) if announced["port"] == bridge.port else (other, bridge)
        killed.crash()
        # As if it had announced itself, empty, a moment before it died: only its silent command
        # channel tells the worker it is gone (the heartbeat would for STALE_SECONDS more).
        redis.hset(
            contract.bridges_key(),
            carrying.bridge_id,
            json.dumps({**announced, "streams": 0, "seen": time.time()}),
        )

        lab.app.wait_for("/after")
        result = caller.wait()
        live_bridge_id = bridge_id_of(survivor)

    assert result.ok, result.explain()
    first_, second_ = streams_of(lab)
    assert (first_.status, first_.ended_by, first_.error_code) == ("stopped", "media-ended", None)
    assert (second_.status, second_.ended_by, second_.error_code) == ("stopped", "app-closed", None)
    assert second_.bridge_id == live_bridge_id != first_.bridge_id
    assert attempts(second_) == 1  # the dead bridge was not even tried
    assert first.closed.is_set() and first.events()[-1]["event"] == "media"  # it died mid-stream
    assert len(ws_app.wait(2, closed=True)[1].events("media")) >= 10  # the second stream flowed
    assert callbacks(lab) == [
        ("first", "stream-started"),
        ("first", "stream-stopped"),
        ("second", "stream-started"),
        ("second", "stream-stopped"),
    ]
    (call,) = lab.calls()
    assert call.status == "completed" and lab.notifications() == []
    assert channels(lab) == []


def test_a_bridge_asterisk_cannot_reach_is_passed_over_for_a_live_one(
    lab: Lab, bridge: MediaBridge, ws_app: RunningApp
) -> None:
    """It looks alive (fresh, listening on its channel) but nothing answers on its port: it died a
    moment ago, or announced an address Asterisk cannot reach."""
    redis = bridges._redis()
    zombie = redis.pubsub()
    zombie.subscribe(contract.commands_channel("zombie"))
    # Emptier and fresher than any live bridge can be, so it is picked first.
    info = contract.BridgeInfo(host="127.0.0.1", port=free_port(), streams=-1, seen=time.time() + 60)
    redis.hset(contract.bridges_key(), "zombie", json.dumps(info))
    lab.serve(
        voice=f"<Response><Connect>{stream(ws_app.url, 'bot', '/close')}</Connect>"
        "<Redirect>/after</Redirect></Response>",
        after="<Response><Hangup/></Response>",
    )
    lab.give_number()
    try:
        result = lab.call(pcap=tone_pcap(5000), timeout_s=30)
    finally:
        redis.hdel(contract.bridges_key(), "zombie")
        zombie.close()

    assert result.ok, result.explain()
    lab.app.wait_for("/after")
    (bot,) = streams_of(lab)
    assert (bot.status, bot.ended_by, bot.error_code) == ("stopped", "app-closed", None)
    assert bot.bridge_id == bridge_id_of(bridge)
    assert attempts(bot) == 2  # the zombie, then the live bridge
    assert callbacks(lab) == [("bot", "stream-started"), ("bot", "stream-stopped")]
    assert lab.notifications() == [] and channels(lab) == []


def test_a_bridge_killed_mid_fork_leaves_the_document_going_on(
    lab: Lab, bridge: MediaBridge, ws_app: RunningApp
) -> None:
    tone = _tone_wav(3.0)
    lab.app.routes["/tone.wav"] = lambda form: (200, "audio/wav", tone)
    lab.serve(
        voice=f"<Response><Start>{stream(ws_app.url, 'fork', track='both_tracks')}</Start>"
        f"<Play>{lab.app.url}/tone.wav</Play><Redirect>/after</Redirect></Response>",
        after="<Response><Hangup/></Response>",
    )
    lab.give_number()

    caller = lab.start_call(pcap=tone_pcap(9000), timeout_s=30)
    (heard,) = ws_app.wait(media=20)  # both tracks' media on one socket
    bridge.crash()
    killed_at = time.monotonic()

    (after,) = lab.app.wait_for("/after")
    assert caller.wait().ok
    (started,) = lab.app.requests_to("/voice")
    assert heard.closed.is_set() and heard.events()[-1]["event"] == "media"  # it died mid-stream
    assert {m["media"]["track"] for m in heard.events("media")} == {"inbound", "outbound"}
    assert after.at - started.at > 3.0 and after.at > killed_at  # the Play went on to its end
    (fork,) = streams_of(lab)
    assert (fork.status, fork.ended_by, fork.error_code) == ("stopped", "media-ended", None)
    assert callbacks(lab) == [("fork", "stream-started"), ("fork", "stream-stopped")]
    (call,) = lab.calls()
    assert call.status == "completed" and lab.notifications() == []
    assert channels(lab) == []


def test_a_worker_restarted_mid_stream_says_stop_to_the_app_and_ends_once(
    lab: Lab, bridge: MediaBridge, worker: AriWorker, ws_app: RunningApp
) -> None:
    lab.serve(voice=f"<Response><Connect>{stream(ws_app.url, 'bot')}</Connect></Response>")
    lab.give_number()
    caller = lab.start_call(pcap=tone_pcap(20000), timeout_s=40)
    ws_app.wait(media=25)

    worker.crash()
    worker.start()  # reconciles: the caller and the stream's channel nobody follows are hung up

    assert caller.wait().ok
    (heard,) = ws_app.wait(closed=True)
    assert heard.events()[-1]["event"] == "stop"  # the bridge said so before closing
    # Its report reaches the row a moment after the app's socket closed (seconds on a loaded machine).
    wait_for(lab, lambda: Stream.objects.filter(status="stopped").first(), "the stream's row stopped")
    (bot,) = streams_of(lab)
    assert (bot.status, bot.ended_by) == ("stopped", "call-ended")
    assert callbacks(lab) == [("bot", "stream-started"), ("bot", "stream-stopped")]
    (call,) = lab.calls()
    assert call.status in Call.ENDED
    assert channels(lab) == []


def test_an_app_sending_bad_frames_or_closing_at_once_is_logged_and_the_document_resumes(
    lab: Lab, bridge: MediaBridge, ws_app: RunningApp
) -> None:
    lab.serve(
        voice=f"<Response><Connect>{stream(ws_app.url, 'bad', '/bad')}</Connect>"
        f"<Connect action='/after'>{stream(ws_app.url, 'gone', '/close-at-once')}</Connect></Response>",
        after="<Response><Hangup/></Response>",
    )
    lab.give_number()

    result = lab.call(pcap=tone_pcap(9000), timeout_s=30)

    assert result.ok, result.explain()
    lab.app.wait_for("/after")
    bad, _ = ws_app.wait(2, closed=True)
    assert len(bad.events("media")) >= 35  # the stream went on after the bad frames
    first, second = streams_of(lab)
    assert (first.status, first.ended_by, first.error_code) == ("stopped", "app-closed", None)
    assert (second.status, second.ended_by, second.error_code) == ("stopped", "app-closed", None)
    assert callbacks(lab) == [
        ("bad", "stream-started"),
        ("bad", "stream-stopped"),
        ("gone", "stream-started"),
        ("gone", "stream-stopped"),
    ]
    with lab.db():
        logged = list(
            Notification.objects.order_by("date_created").values_list("error_code", "log", "message_text")
        )
    warning = Notification.Log.WARNING
    assert [(code, log) for code, log, _ in logged] == [(31924, warning), (31924, warning)]  # once a kind
    assert "not JSON" in logged[0][2] and "binary" in logged[1][2]
    assert channels(lab) == []
