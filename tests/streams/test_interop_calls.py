"""Real voice-AI clients on real calls: sipp calls through Asterisk into `<Connect><Stream>`, served by
Pipecat (its own Twilio serializer and FastAPI transport) and by an OpenAI-Realtime-demo-like app.

The caller plays a script (silence, a 1 kHz tone, RFC 4733 digits) and what it hears is captured on
loopback (tests/voice/rtp_capture.py) and judged by frequency (tests/voice/audio.py): the app got the
caller's tone, the caller got the app's audio, `clear` cut it, marks came back only once their audio
had played, the call ended through our REST API or went on after `</Connect>`.
"""

import array
import base64
import time
from collections.abc import Iterator

import pytest

from tests.asterisk import TEST_RTP
from tests.streams.apps.realtime_demo import RealtimeDemoApp
from tests.streams.apps.running import PipecatBot, pipecat_bot
from tests.voice.audio import has_tone, tone_spans
from tests.voice.dtmf import script_pcap
from tests.voice.rtp_capture import RtpCapture, RtpPacket, audio_frames, digit_ends
from tests.voice.test_call_flows import Lab

pytestmark = pytest.mark.e2e

CALLER_HZ, GREETING_HZ, ANSWER_HZ = 1000, 500, 600
GAP_S = 0.2  # a tone with a gap this short is one utterance (a busy machine may delay a packet or two)


def _capture_of_the_call(capture: RtpCapture) -> tuple[list[RtpPacket], list[RtpPacket]]:
    """(what the caller sent, what it received) of the one call captured."""
    ((port, sent),) = capture.from_callers().items()
    return sent, capture.to_callers().get(port, [])


def _stream_events(lab: Lab, path: str = "/stream-status") -> list[str]:
    return [hit.form["StreamEvent"] for hit in lab.app.requests_to(path)]


@pytest.fixture
def bot(lab: Lab, server: str) -> Iterator[PipecatBot]:
    """Pipecat, its hang-up pointed at our Calls API with the tenant's own credentials."""
    with pipecat_bot(api_base=server, account_sid=lab.tenant.sid, auth_token=lab.tenant.token) as running:
        yield running


def test_pipecat_hears_the_caller_echoes_clears_on_1_and_hangs_up_through_our_api_on_hash(
    lab: Lab, bot: PipecatBot, celery: None
) -> None:
    lab.serve(
        voice=f'<Response><Connect><Stream url="{bot.url}" statusCallback="/stream-status">'
        '<Parameter name="greeting_ms" value="4000"/>'
        f'<Parameter name="greeting_hz" value="{GREETING_HZ}"/></Stream></Connect>'
        '<Pause length="30"/></Response>',  # only a hang-up by REST ends the call in time
        **{"stream-status": "<Response/>"},
    )
    lab.give_number()
    script = (("wait", 1500), ("press", "1"), ("wait", 500), ("talk", 1000), ("wait", 500), ("press", "#"))
    with RtpCapture(*TEST_RTP) as capture:
        result = lab.call(pcap=script_pcap(*script, ("wait", 3000), tone_hz=CALLER_HZ), timeout_s=20)

    assert result.ok, result.explain()  # the far end hung up (uac_wait_bye)
    call_sid = lab.app.wait_for("/voice")[0].form["CallSid"]
    (session,) = bot.wait_finished()
    assert session["transport"] == "twilio"  # Pipecat's own detection, from `connected` and `start`
    assert session["call_id"] == call_sid and session["stream_id"].startswith("MZ")
    assert session["body"] == {"greeting_ms": "4000", "greeting_hz": str(GREETING_HZ)}
    assert session["digits"] == ["1", "#"]
    heard = array.array("h", base64.b64decode(session["inbound_pcm"])).tolist()
    windows = [heard[i : i + 160] for i in range(0, len(heard) - 159, 160)]
    assert sum(has_tone(w, CALLER_HZ) for w in windows) >= 45  # ~50 frames: the 1 s tone, unchanged

    sent, received = _capture_of_the_call(capture)
    start = sent[0].at_s
    (pressed_1, pressed_hash) = [at - start for at, _ in digit_ends(sent)]  # as Asterisk reports them
    greeting = tone_spans(audio_frames(received, start), GREETING_HZ)
    assert greeting, "the caller heard no greeting"
    cut_after_s = greeting[-1].end_s - pressed_1  # digit → ARI → bridge → Pipecat → `clear` → silence
    assert -0.03 < cut_after_s < 0.15, cut_after_s
    assert sum(span.duration_s for span in greeting) < 2.5  # 4 s queued, not all played
    (spoken,) = tone_spans(audio_frames(sent, start), CALLER_HZ, merge_gap_s=GAP_S)
    (echoed,) = tone_spans(audio_frames(received, start), CALLER_HZ, merge_gap_s=GAP_S)
    assert 0 < echoed.start_s - spoken.start_s < 0.2
    assert echoed.duration_s == pytest.approx(spoken.duration_s, abs=0.1)
    assert received[-1].at_s - start < pressed_hash + 5  # the end: Pipecat's 2 s of silence, then REST

    [call] = lab.calls()
    assert call.status == "completed"
    lab.app.wait_for("/stream-status", 2)
    time.sleep(0.5)
    assert _stream_events(lab) == ["stream-started", "stream-stopped"]


def test_the_realtime_demo_truncates_where_the_caller_stopped_hearing_and_twiml_resumes_on_close(
    lab: Lab, celery: None
) -> None:
    with RealtimeDemoApp(reply_ms=2000, reply_hz=ANSWER_HZ, delta_ms=100, close_after_s=1.0) as app:
        lab.serve(
            voice=f'<Response><Connect><Stream url="{app.url}" statusCallback="/stream-status"/></Connect>'
            "<Redirect>/after</Redirect></Response>",
            after="<Response><Hangup/></Response>",
            **{"stream-status": "<Response/>"},
        )
        lab.give_number()
        # Speak 0.5 s; the app answers 2 s of tone after a 0.3 s pause; barge in 1 s into it.
        script = (("wait", 1000), ("talk", 500), ("wait", 1300), ("talk", 300), ("wait", 4000))
        with RtpCapture(*TEST_RTP) as capture:
            result = lab.call(pcap=script_pcap(*script, tone_hz=CALLER_HZ), timeout_s=20)
        (session,) = app.sessions

    assert result.ok, result.explain()
    assert lab.app.wait_for("/after")  # the app closed its socket: the TwiML after </Connect> ran
    assert session.events[:2] == ["connected", "start"] and "stop" not in session.events
    sent, received = _capture_of_the_call(capture)
    start = sent[0].at_s
    answer, *_ = tone_spans(audio_frames(received, start), ANSWER_HZ, merge_gap_s=GAP_S)  # (and again)
    _, barge_in = tone_spans(audio_frames(sent, start), CALLER_HZ, merge_gap_s=GAP_S)
    assert answer.end_s == pytest.approx(barge_in.start_s, abs=0.15)  # `clear` cut it at the barge-in
    ((truncated_at, audio_end_ms),) = session.truncations
    assert audio_end_ms / 1000 == pytest.approx(answer.duration_s, abs=0.1)  # media.timestamp is real time

    first_delta = session.deltas_sent[0]
    played_marks = [at for at, _ in session.marks if at < truncated_at]
    assert len(played_marks) == pytest.approx(answer.duration_s / 0.1, abs=1.5)
    for index, at in enumerate(played_marks, start=1):
        assert at - first_delta >= index * 0.1 - 0.03  # a mark only once its 100 ms had played
    flushed = [at for at, _ in session.marks if truncated_at <= at < truncated_at + 0.1]
    assert len(played_marks) + len(flushed) == 20  # `clear` echoed every pending mark, at once
    assert {message["mark"]["name"] for _, message in session.marks} == {""}  # nameless, echoed as such
    lab.app.wait_for("/stream-status", 2)
    time.sleep(0.5)
    assert _stream_events(lab) == ["stream-started", "stream-stopped"]


def test_a_caller_hanging_up_sends_stop_and_one_stream_stopped(lab: Lab, celery: None) -> None:
    with RealtimeDemoApp() as app:
        lab.serve(
            voice=f'<Response><Connect><Stream url="{app.url}" statusCallback="/stream-status"/></Connect>'
            "</Response>",
            **{"stream-status": "<Response/>"},
        )
        lab.give_number()
        result = lab.call(hangup_after_ms=1500, pcap=script_pcap(("wait", 1000), tone_hz=CALLER_HZ))
        deadline = time.monotonic() + 15  # the hangup's stop reaches the app in well under a second, unloaded
        while not (app.sessions and app.sessions[0].closed_at) and time.monotonic() < deadline:
            time.sleep(0.05)
        (session,) = app.sessions

    assert result.ok, result.explain()
    assert session.events[-1] == "stop" and session.closed_at is not None
    lab.app.wait_for("/stream-status", 2)
    time.sleep(0.5)
    assert _stream_events(lab) == ["stream-started", "stream-stopped"]
