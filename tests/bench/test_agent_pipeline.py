"""bench/agent pipeline's arithmetic: which prompt, token, audio and clear belong to which of the
caller's turns, on a call whose events are given (the bench itself runs the real relay)."""

import pytest

from bench.agent_pipeline import Call, Figures, Script, Turn, measure


def _call() -> Call:
    turns = [
        Turn(at_s=1.0, onset_s=1.0, end_s=2.0, expected="what are your opening hours", is_barge_in=False),
        Turn(at_s=3.5, onset_s=3.52, end_s=4.5, expected="yes please", is_barge_in=True),
    ]
    call = Call(0, Script(audio=b"", turns=turns, digits=[9.0]))
    call.frame_sent = [(n + 1) * 0.02 + 0.001 for n in range(600)]  # each 1 ms late
    call.prompts = [(2.53, "what are your opening hours"), (5.04, "yes")]
    call.answers = [2.531, 5.041]
    call.first_audio = [2.57, 5.09, 9.033]
    call.playing = [[2.57, 3.58], [5.09, 8.4], [9.033, 9.133]]
    call.clears = [3.58]
    call.digits_sent, call.digit_answers = [9.01], [9.012]
    call.late_ms = [0.0, 0.0, 25.0]
    return call


def test_each_turn_is_timed_from_the_end_of_its_speech_through_each_stage() -> None:
    figures = Figures(sessions=1, end_ms=450)
    # Silero's clock: 2.464 s is completed by the frame that ends at 2.48 s (sent at 2.481).
    measure(_call(), [2.464, 4.96], figures)

    assert (figures.turns, figures.answered, figures.right) == (2, 2, 1)
    assert figures.vad == pytest.approx([464, 460])
    assert figures.stt == pytest.approx([49, 79])
    assert figures.token == pytest.approx([1, 1])
    assert figures.tts == pytest.approx([39, 49])
    assert figures.total == pytest.approx([570, 590])
    assert figures.barge == pytest.approx([60]) and figures.barges_expected == 1
    assert figures.baseline == pytest.approx([23])
    assert figures.sent_late_ms[0] == pytest.approx(1)
    assert figures.held() == "no: agent audio late"
