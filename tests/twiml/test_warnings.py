"""What Twilio skips with a warning: the document runs without it, and the warning says what and where."""

import pytest

from twiml.errors import Code
from twiml.parser import parse_messaging, parse_voice
from twiml.verbs import Dial, Gather, Hangup, Message, MessagingResponse, Number, Record, Response, Say

HI = Say("Hi")

VOICE = [
    pytest.param(
        '<Say foo="1">Hi</Say>', (HI,), Code.SCHEMA, "attribute 'foo' is unknown", id="unknown-attribute"
    ),
    pytest.param(
        '<Gather Timeout="3"/>', (Gather(),), Code.SCHEMA, "'Timeout' is unknown", id="attribute-case"
    ),
    pytest.param(
        '<Gather debug="true"/>',
        (Gather(),),
        Code.SCHEMA,
        "not supported by Switchboard",
        id="unsupported-attr",
    ),
    pytest.param("<say>Hi</say><Hangup/>", (Hangup(),), Code.SCHEMA, "unknown element <say>", id="verb-case"),
    pytest.param("<Foo><Say>x</Say></Foo><Say>Hi</Say>", (HI,), Code.SCHEMA, "<Foo>", id="unknown-verb"),
    pytest.param("<Pay/><Say>Hi</Say>", (HI,), Code.SCHEMA, "<Pay> is not supported", id="unsupported-verb"),
    pytest.param("<Message>x</Message>", (), Code.SCHEMA, "unknown element <Message>", id="messaging-verb"),
    pytest.param(
        "<Dial><Number>+14155550100</Number><Sim>DE0123</Sim></Dial>",
        (Dial((Number("+14155550100"),)),),
        Code.SCHEMA,
        "<Sim> is not supported",
        id="unsupported-noun",
    ),
    pytest.param(
        '<Hangup><Parameter name="a" value="b"/></Hangup>',
        (Hangup(),),
        Code.SCHEMA,
        "<Parameter>",
        id="param",
    ),
    pytest.param("Hello<Hangup/>", (Hangup(),), Code.SCHEMA, "text is not allowed", id="stray-text"),
    pytest.param(
        '<Say>Hi <break time="1s"/> there <emphasis>now</emphasis></Say>',
        (Say("Hi there now"),),
        Code.SCHEMA,
        "SSML",
        id="ssml-as-plain-text",
    ),
    pytest.param(
        '<Record transcribe="true"/>',
        (Record(transcribe=True),),
        Code.RECORD_TOO_LONG_TO_TRANSCRIBE,
        "120 s",
        id="transcribe-long-recording",
    ),
]


@pytest.mark.parametrize(("inner", "verbs", "code", "says"), VOICE)
def test_voice_warning(inner: str, verbs: tuple[object, ...], code: Code, says: str) -> None:
    result = parse_voice(f"<Response>{inner}</Response>")
    assert result.response == Response(verbs)
    assert [w.code for w in result.warnings] == [code]
    assert says in result.warnings[0].message
    assert result.warnings[0].message.startswith("Response")


THANKS = Message("Thanks")


@pytest.mark.parametrize(
    ("inner", "verbs", "code"),
    [
        pytest.param("<Say>Hi</Say>", (), Code.MESSAGE_INVALID_VERB, id="voice-verb"),
        pytest.param("<Foo/>", (), Code.SCHEMA, id="unknown-verb"),
        pytest.param(
            '<Message priority="high">Thanks</Message>', (THANKS,), Code.SCHEMA, id="unknown-attribute"
        ),
    ],
)
def test_messaging_warning(inner: str, verbs: tuple[Message, ...], code: Code) -> None:
    result = parse_messaging(f"<Response>{inner}<Message>Thanks</Message></Response>")
    assert result.response == MessagingResponse((*verbs, THANKS))
    assert [w.code for w in result.warnings] == [code]


def test_warnings_accumulate_in_document_order() -> None:
    result = parse_voice('<Response><say>a</say><Say x="1">Hi</Say><Pay/></Response>')
    assert result.response == Response((HI,))
    assert [w.message.split(":")[0] for w in result.warnings] == ["Response", "Response/Say", "Response"]
    assert all(isinstance(w.code, int) and w.code == Code.SCHEMA for w in result.warnings)
