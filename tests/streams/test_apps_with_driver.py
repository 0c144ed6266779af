"""The interop apps against the Twilio-like driver: each behaves as its real counterpart does with
Twilio (media-streams.md §1.5, §2), so the end-to-end tests can trust what they report."""

import array
import asyncio
import base64
from collections.abc import Iterator

import pytest

from tests.streams.apps.realtime_demo import RealtimeDemoApp
from tests.streams.apps.running import PipecatBot, pipecat_bot
from tests.streams.twilio_driver import FRAME_S, drive
from tests.voice.audio import has_tone, tone_spans, tone_ulaw
from tests.voice.twiml_app import TwimlApp

ACCOUNT = "AC" + "a" * 32
TOKEN = "dummy-token-for-an-offline-bot"
CALL = "CA" + "c" * 32
HANGUP_PATH = f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{CALL}.json"
GREETING_HZ, CALLER_HZ, REPLY_HZ = 500, 1000, 600
SILENCE_300 = b"\xff" * 2400
CALLER = "+15557654321"
GAP_S = 0.2  # a tone with a gap this short is one utterance (a busy machine may delay the driver's tick)


@pytest.fixture(scope="module")
def rest() -> Iterator[TwimlApp]:
    """Stands in for the Calls API: takes the bot's hang-up."""
    with TwimlApp() as app:
        app.routes[HANGUP_PATH] = lambda form: (200, "application/json", b'{"status": "completed"}')
        yield app


@pytest.fixture(scope="module")
def bot(rest: TwimlApp) -> Iterator[PipecatBot]:
    with pipecat_bot(api_base=rest.url, account_sid=ACCOUNT, auth_token=TOKEN) as running:
        yield running


@pytest.mark.e2e
def test_pipecat_takes_the_stream_for_twilio_echoes_clears_and_hangs_up(
    bot: PipecatBot, rest: TwimlApp
) -> None:
    # 1.5 s of silence, 1 s of the caller's tone, silence; the bot greets with 3 s of its own tone.
    caller = b"\xff" * 12000 + tone_ulaw(1000, CALLER_HZ) + b"\xff" * 8000
    run = asyncio.run(
        drive(
            bot.url,
            caller_audio=caller,
            digits={1.0: "1", 3.6: "#"},
            parameters={"greeting_ms": "3000", "greeting_hz": str(GREETING_HZ), "from_number": CALLER},
            hold_s=3.0,
            call_sid=CALL,
            account_sid=ACCOUNT,
        )
    )

    (session,) = bot.wait_finished()
    assert session["transport"] == "twilio"
    assert session["call_id"] == CALL
    assert session["body"]["from_number"] == CALLER
    assert session["digits"] == ["1", "#"]
    heard = array.array("h", base64.b64decode(session["inbound_pcm"])).tolist()
    assert has_tone(heard[12000 + 800 : 12000 + 7200], CALLER_HZ)  # the caller's tone, unchanged

    (clear_at, _), *_ = run.events("clear")
    dtmf_1_at = run.dtmf_sent[0][0]
    assert 0 <= clear_at - dtmf_1_at < 0.1
    *_, greeting_end = tone_spans(run.played, GREETING_HZ)  # Pipecat's start may stutter on busy cores
    assert greeting_end.end_s == pytest.approx(dtmf_1_at, abs=0.1)  # 3 s of greeting, cut at the digit
    (echo,) = tone_spans(run.played, CALLER_HZ, merge_gap_s=GAP_S)
    assert echo.start_s - 1.5 < 0.1 and echo.duration_s == pytest.approx(1.0, abs=0.1)
    assert {message["event"] for _, message in run.received} == {"media", "clear"}  # no marks

    (hangup,) = rest.wait_for(HANGUP_PATH)
    assert hangup.method == "POST" and hangup.form == {"Status": "completed"}
    assert hangup.headers["Authorization"].startswith("Basic ")
    end_silence = [m for _, m in run.events("media") if len(base64.b64decode(m["media"]["payload"])) == 16000]
    assert end_silence  # Pipecat's 2 s of end silence, in one message


def test_the_realtime_demo_marks_each_delta_and_truncates_at_what_was_heard() -> None:
    # The caller speaks 0.5 s, pauses (the model answers 2 s), barges in 0.7 s into the answer, and
    # hangs up before a pause long enough for a second answer.
    caller = SILENCE_300 + tone_ulaw(500, CALLER_HZ) + b"\xff" * 8000 + tone_ulaw(400, CALLER_HZ)
    with RealtimeDemoApp(reply_ms=2000, reply_hz=REPLY_HZ, delta_ms=100) as app:
        run = asyncio.run(drive(app.url, caller_audio=caller, hold_s=0.2))
    (session,) = app.sessions

    assert session.events[:3] == ["connected", "start", "media"]
    medias = run.events("media")
    marks = run.events("mark")
    assert len(medias) == len(marks) == 20
    assert all("mark" not in message for _, message in marks)  # nameless, as the demo sends them
    (answer,) = tone_spans(run.played, REPLY_HZ, merge_gap_s=GAP_S)
    ((_, audio_end_ms),) = session.truncations
    assert audio_end_ms / 1000 == pytest.approx(answer.duration_s, abs=0.06)
    ((clear_at, _),) = run.events("clear")
    played_marks = [at for at, _ in run.marks_echoed if at < clear_at]
    assert len(played_marks) == round(answer.duration_s / 0.1)  # one per 100 ms delta heard
    for index, at in enumerate(played_marks, start=1):
        assert at >= answer.start_s + index * 0.1 - FRAME_S  # only after its audio played
    assert len(run.marks_echoed) == 20  # clear echoed the rest at once
