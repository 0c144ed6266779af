"""ConversationRelay's app messages as the relay reads them (Twilio's shapes:
https://www.twilio.com/docs/voice/conversationrelay/websocket-messages), what it refuses with an
`error`, where it cuts tokens into clauses, and `sendDigits` as in-band DTMF."""

import pytest

from ai.relay import messages
from ai.relay.session import LONG_CLAUSE_CHARS, _clauses, dtmf_audio
from streams.bridge.codec import ulaw_to_slin
from tests.voice.audio import has_tone


def test_app_messages_parse_to_what_the_relay_acts_on() -> None:
    assert messages.parse('{"type":"text","token":"Hi","last":false,"interruptible":false}') == (
        messages.Text("Hi", False, None, "none")
    )
    assert messages.parse('{"type":"text","token":"Hola","last":true,"lang":"es-ES","preemptible":true}') == (
        messages.Text("Hola", True, "es-ES", None, True)
    )
    assert messages.parse('{"type":"play","source":"https://x/a.wav","loop":2,"interruptible":"dtmf"}') == (
        messages.Play("https://x/a.wav", 2, "dtmf")
    )
    assert messages.parse('{"type":"sendDigits","digits":"12w#"}') == messages.SendDigits("12w#")
    assert messages.parse('{"type":"language","ttsLanguage":"fr-FR"}') == messages.Language("fr-FR", None)
    assert messages.parse('{"type":"end","handoffData":"{\\"a\\":1}"}') == messages.End('{"a":1}')
    assert messages.parse('{"type":"end","handoffData":{"a":1}}') == messages.End('{"a":1}')
    assert messages.parse('{"type":"end"}') == messages.End(None)


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        (b"\x00", "binary frames"),
        ("not json", "not valid JSON"),
        ("[1]", "JSON object"),
        ('{"type":"shout"}', "unknown message type 'shout'"),
        ('{"type":"text","last":true}', "text needs token"),
        ('{"type":"text","token":"a","last":"yes"}', "last must be true or false"),
        ('{"type":"text","token":"a","interruptible":"sometimes"}', "interruptible must be"),
        ('{"type":"play","source":"x","loop":0}', "loop must be"),
        ('{"type":"play","source":"x","preemptible":"yes"}', "preemptible must be true or false"),
        ('{"type":"sendDigits","digits":"12a"}', "digits may hold"),
        ('{"type":"sendDigits","digits":"%s"}' % ("w" * 101), "at most 100"),  # 50 s; a megabyte was 100 GB
        ('{"type":"language"}', "needs ttsLanguage or transcriptionLanguage"),
    ],
)
def test_a_message_the_relay_cannot_act_on_is_refused_with_a_description(raw: str | bytes, said: str) -> None:
    with pytest.raises(messages.Invalid, match=said):
        messages.parse(raw)


def test_tokens_are_cut_after_punctuation_or_at_a_word_when_long() -> None:
    assert _clauses("Sure, I can") == (["Sure,"], " I can")
    assert _clauses("It costs 3.50 dollars") == ([], "It costs 3.50 dollars")  # a decimal point is no end
    assert _clauses("Hello there. How are you? I") == (["Hello there.", " How are you?"], " I")
    clauses, rest = _clauses("word " * 30)
    assert clauses and all(len(c) <= LONG_CLAUSE_CHARS and c.endswith(" ") for c in clauses)
    assert "".join(clauses) + rest == "word " * 30


def test_send_digits_are_played_as_dtmf_tones() -> None:
    slin = ulaw_to_slin(dtmf_audio("5w"))
    samples = memoryview(slin).cast("h").tolist()
    assert len(samples) == 8000 * (100 + 100 + 500) // 1000
    tone = samples[:800]
    assert has_tone(tone, 770, share=0.3) and has_tone(tone, 1336, share=0.3)
    assert not has_tone(tone, 697, share=0.1)
