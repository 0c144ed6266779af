"""What Twilio skips with a warning: the document runs without it, and the warning says what and where.

An invalid value of a known attribute is such a warning too: the verb runs with the attribute's default.
"""

import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from typing import Any

import pytest

from twiml import schema
from twiml.errors import Code
from twiml.parser import ParseResult, parse_messaging, parse_voice
from twiml.verbs import (
    Dial,
    Enqueue,
    Gather,
    Hangup,
    Message,
    MessagingResponse,
    Number,
    Record,
    Response,
    Say,
    Task,
    attribute_name,
)

HI = Say("Hi")
WW = "WW0123456789abcdef0123456789abcdef"

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
        "<Enqueue>support<Task>{}</Task></Enqueue>",
        (Enqueue("support"),),
        Code.SCHEMA,
        "<Task> is for an <Enqueue> with a workflowSid",
        id="task-without-workflow",
    ),
    pytest.param(
        f'<Enqueue workflowSid="{WW}"><Task priority="-1" timeout="60">{{}}</Task></Enqueue>',
        (Enqueue(workflow_sid=WW, task=Task("{}", timeout=60)),),
        Code.SCHEMA,
        "Response/Enqueue/Task: priority must be an integer from 0 to 2147483647, not '-1'; ignored",
        id="task-priority",
    ),
    pytest.param(
        f'<Enqueue workflowSid="{WW}"><Task timeout="0">{{}}</Task></Enqueue>',
        (Enqueue(workflow_sid=WW, task=Task("{}")),),
        Code.SCHEMA,
        "timeout must be an integer from 1 to 2592000, not '0'; ignored, as if absent",
        id="task-timeout",
    ),
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

MESSAGING = [
    pytest.param("<Say>Hi</Say>", (), Code.MESSAGE_INVALID_VERB, id="voice-verb"),
    pytest.param("<Foo/>", (), Code.SCHEMA, id="unknown-verb"),
    pytest.param('<Message priority="high">Thanks</Message>', (THANKS,), Code.SCHEMA, id="unknown-attribute"),
]


@pytest.mark.parametrize(("inner", "verbs", "code"), MESSAGING)
def test_messaging_warning(inner: str, verbs: tuple[Message, ...], code: Code) -> None:
    result = parse_messaging(f"<Response>{inner}<Message>Thanks</Message></Response>")
    assert result.response == MessagingResponse((*verbs, THANKS))
    assert [w.code for w in result.warnings] == [code]


def test_warnings_accumulate_in_document_order() -> None:
    result = parse_voice('<Response><say>a</say><Say x="1">Hi</Say><Pay/></Response>')
    assert result.response == Response((HI,))
    assert [w.message.split(":")[0] for w in result.warnings] == ["Response", "Response/Say", "Response"]
    assert all(isinstance(w.code, int) and w.code == Code.SCHEMA for w in result.warnings)


# --- invalid attribute values: a warning, and the attribute's default --------------------------------

N = "<Number>+14155550100</Number>"


def bad(code: Code, inner: str, name: str, parse: Callable[[str], ParseResult[Any]] = parse_voice) -> Any:
    """A document whose first attribute (in document order) is the invalid one."""
    return pytest.param(code, f"<Response>{inner}</Response>", parse, id=f"{int(code)}-{name}")


def conference(attributes: str) -> str:
    return f"<Dial><Conference {attributes}>room</Conference></Dial>"


INVALID_VALUES = [
    bad(Code.SCHEMA, '<Say language="english">hi</Say>', "say-language"),
    bad(Code.SCHEMA, '<Connect><Stream track="both_tracks" url="wss://x"/></Connect>', "connect-two-tracks"),
    bad(
        Code.SCHEMA,
        '<Connect><ConversationRelay interruptible="sometimes" url="wss://x"/></Connect>',
        "relay-interruptible",
    ),
    bad(
        Code.SCHEMA,
        '<Connect><ConversationRelay dtmfDetection="yes" url="wss://x"/></Connect>',
        "relay-dtmf-detection",
    ),
    bad(Code.SCHEMA, '<Enqueue maxQueueSize="0">support</Enqueue>', "max-queue-size"),
    bad(Code.DIAL_METHOD, f'<Dial method="PUT">{N}</Dial>', "method"),
    bad(Code.DIAL_TIMEOUT, f'<Dial timeout="3">{N}</Dial>', "timeout-below-5"),
    bad(Code.DIAL_TIMEOUT, f'<Dial timeout="601">{N}</Dial>', "timeout-above-600"),
    bad(Code.DIAL_HANGUP_ON_STAR, f'<Dial hangupOnStar="yes">{N}</Dial>', "hangup-on-star"),
    bad(Code.DIAL_CALLER_ID, f'<Dial callerId="not a number">{N}</Dial>', "caller-id"),
    bad(Code.DIAL_TIME_LIMIT, f'<Dial timeLimit="0">{N}</Dial>', "time-limit"),
    bad(Code.DIAL_RECORD, f'<Dial record="always">{N}</Dial>', "record"),
    bad(Code.DIAL_SEQUENTIAL, f'<Dial sequential="maybe">{N}</Dial>', "sequential"),
    bad(Code.DIAL_ANSWER_ON_BRIDGE, f'<Dial answerOnBridge="1">{N}</Dial>', "answer-on-bridge"),
    bad(Code.DIAL_RING_TONE, f'<Dial ringTone="usa">{N}</Dial>', "ring-tone"),
    bad(Code.NUMBER_METHOD, '<Dial><Number method="PUT">+14155550100</Number></Dial>', "number-method"),
    bad(Code.NUMBER_SEND_DIGITS, '<Dial><Number sendDigits="12x">+1415</Number></Dial>', "send-digits"),
    bad(Code.CONFERENCE_MUTED, conference('muted="yes"'), "muted"),
    bad(Code.CONFERENCE_END_ON_EXIT, conference('endConferenceOnExit="1"'), "end-on-exit"),
    bad(Code.CONFERENCE_START_ON_ENTER, conference('startConferenceOnEnter=""'), "start-on-enter"),
    bad(Code.CONFERENCE_WAIT_METHOD, conference('waitMethod="PUT"'), "wait-method"),
    bad(Code.CONFERENCE_BEEP, conference('beep="loud"'), "beep"),
    bad(Code.CONFERENCE_TRIM, conference('trim="cut"'), "conference-trim"),
    bad(Code.SIP_METHOD, '<Dial><Sip method="PUT">sip:a@b</Sip></Dial>', "sip-method"),
    bad(Code.GATHER_FINISH_ON_KEY, '<Gather finishOnKey="a"/>', "finish-on-key"),
    bad(Code.GATHER_FINISH_ON_KEY, '<Gather finishOnKey="#*"/>', "finish-on-two-keys"),
    bad(Code.GATHER_METHOD, '<Gather method="PATCH"/>', "gather-method"),
    bad(Code.GATHER_TIMEOUT, '<Gather timeout="abc"/>', "gather-timeout-word"),
    bad(Code.GATHER_TIMEOUT, '<Gather timeout="0"/>', "gather-timeout-zero"),
    bad(Code.GATHER_TIMEOUT, '<Gather timeout="5.5"/>', "gather-timeout-fraction"),
    bad(Code.GATHER_TIMEOUT, '<Gather timeout="٥"/>', "gather-timeout-arabic-digit"),
    bad(Code.GATHER_NUM_DIGITS, '<Gather numDigits="0"/>', "num-digits"),
    bad(Code.GATHER_SAY_VOICE, '<Gather><Say voice="robot">hi</Say></Gather>', "nested-say-voice"),
    bad(Code.GATHER_SAY_LOOP, '<Gather><Say loop="-1">hi</Say></Gather>', "nested-say-loop"),
    bad(Code.GATHER_INPUT, '<Gather input="voice"/>', "input"),
    bad(Code.GATHER_SPEECH_TIMEOUT, '<Gather speechTimeout="soon"/>', "speech-timeout"),
    bad(Code.GATHER_MAX_SPEECH_TIME, '<Gather maxSpeechTime="61"/>', "max-speech-time"),
    bad(Code.GATHER_PARTIAL_RESULT_METHOD, '<Gather partialResultCallbackMethod="PUT"/>', "partial-method"),
    bad(Code.GATHER_LANGUAGE, '<Gather language="french"/>', "gather-language"),
    bad(Code.GATHER_BARGE_IN, '<Gather bargeIn="no"/>', "barge-in"),
    bad(Code.GATHER_PROFANITY_FILTER, '<Gather profanityFilter="no"/>', "profanity-filter"),
    bad(Code.GATHER_ACTION_ON_EMPTY_RESULT, '<Gather actionOnEmptyResult="no"/>', "action-on-empty-result"),
    bad(Code.PLAY_LOOP, '<Play loop="1001">https://x/a.mp3</Play>', "play-loop"),
    bad(Code.SAY_LOOP, '<Say loop="-1">hi</Say>', "say-loop"),
    bad(Code.SAY_VOICE, '<Say voice="robot">hi</Say>', "say-voice"),
    bad(Code.RECORD_METHOD, '<Record method="PUT"/>', "record-method"),
    bad(Code.RECORD_TIMEOUT, '<Record timeout="-1"/>', "record-timeout"),
    bad(Code.RECORD_MAX_LENGTH, '<Record maxLength="0"/>', "max-length-zero"),
    bad(Code.RECORD_MAX_LENGTH, '<Record maxLength="14401"/>', "max-length-above-4h"),
    bad(Code.RECORD_FINISH_ON_KEY, '<Record finishOnKey="abc"/>', "record-finish-on-key"),
    bad(Code.RECORD_TRANSCRIBE, '<Record transcribe="yes"/>', "transcribe"),
    bad(Code.RECORD_PLAY_BEEP, '<Record playBeep="yes"/>', "play-beep"),
    bad(Code.RECORDING_STATUS_CALLBACK_EVENT, '<Record recordingStatusCallbackEvent="done"/>', "events"),
    bad(Code.RECORD_TRIM, '<Record trim="cut"/>', "record-trim"),
    bad(Code.REDIRECT_METHOD, '<Redirect method="PUT">/next</Redirect>', "redirect-method"),
    bad(Code.REJECT_REASON, '<Reject reason="nope"/>', "reject-reason"),
    bad(Code.PAUSE_LENGTH, '<Pause length="-1"/>', "pause-length"),
    bad(Code.MESSAGE_METHOD, '<Sms method="PUT">hi</Sms>', "sms-method"),
    bad(Code.ENQUEUE_METHOD, '<Enqueue method="PUT">support</Enqueue>', "enqueue-method"),
    bad(Code.ENQUEUE_WAIT_URL_METHOD, '<Enqueue waitUrlMethod="PUT">support</Enqueue>', "wait-url-method"),
    bad(Code.QUEUE_METHOD, '<Dial><Queue method="PUT">support</Queue></Dial>', "queue-method"),
    bad(Code.MESSAGE_METHOD, '<Message method="PUT">hi</Message>', "message-method", parse_messaging),
    bad(Code.MESSAGE_METHOD, '<Redirect method="PUT">/x</Redirect>', "messaging-redirect", parse_messaging),
]


def _find(node: Any, tag: str) -> Any:
    """The first verb or noun of type `tag`, depth first."""
    if type(node).__name__ == tag:
        return node
    for f in fields(node):
        value = getattr(node, f.name)
        for child in value if isinstance(value, tuple) else (value,):
            if is_dataclass(child) and (found := _find(child, tag)) is not None:
                return found
    return None


@pytest.mark.parametrize(("code", "document", "parse"), INVALID_VALUES)
def test_invalid_value_warns_and_uses_the_default(
    code: Code, document: str, parse: Callable[[str], ParseResult[Any]]
) -> None:
    root = ET.fromstring(document)  # noqa: S314  (our own test documents)
    holder = next(el for el in root.iter() if el.attrib)
    attribute, raw = next(iter(holder.attrib.items()))

    result = parse(document)

    verb = _find(result.response, holder.tag)
    field = next(f for f in fields(verb) if attribute_name(f.name) == attribute)
    assert getattr(verb, field.name) == field.default
    assert [w.code for w in result.warnings] == [code]
    message = result.warnings[0].message
    assert message.startswith("Response/") and attribute in message
    assert repr(raw) in message and message.endswith(schema.using(field.default))
    del holder.attrib[attribute]  # the same document without the attribute runs the same way
    assert parse(ET.tostring(root, encoding="unicode")) == ParseResult(result.response)


def test_invalid_value_message() -> None:
    result = parse_voice('<Response><Gather timeout="abc"><Say loop="x">hi</Say></Gather></Response>')
    assert result.response == Response((Gather((Say("hi"),)),))
    assert [(w.code, w.message) for w in result.warnings] == [
        (
            13313,
            "Response/Gather: timeout must be an integer from 1 to 600, not 'abc'; using the default '5'",
        ),
        (
            13322,
            "Response/Gather/Say: loop must be an integer from 0 to 1000, not 'x'; using the default '1'",
        ),
    ]
    unset = parse_voice('<Response><Gather numDigits="none"/></Response>').warnings[0].message
    assert unset.endswith("not 'none'; ignored, as if absent")
