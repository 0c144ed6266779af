"""Each error code with a minimal document that triggers it; the document cannot run.

Invalid attribute values that fall back to a default are warnings, in test_warnings.
"""

import pytest

from tests.twiml.test_warnings import INVALID_VALUES
from tests.twiml.test_warnings import MESSAGING as OTHER_MESSAGING
from tests.twiml.test_warnings import VOICE as OTHER_VOICE
from twiml.errors import Code, TwimlError
from twiml.parser import parse_messaging, parse_voice


def case(code: Code, inner: str, name: str) -> object:
    return pytest.param(code, f"<Response>{inner}</Response>", id=f"{int(code)}-{name}")


N = "<Number>+14155550100</Number>"
WF = 'workflowSid="WW0123456789abcdef0123456789abcdef"'

VOICE = [
    case(Code.SCHEMA, N, "noun-at-top-level"),
    case(Code.SCHEMA, "<Play><Say>hi</Say></Play>", "verb-inside-play"),
    case(Code.SCHEMA, "<Response/>", "response-inside-response"),
    case(Code.SCHEMA, "<Redirect/>", "redirect-without-url"),
    case(Code.SCHEMA, "<Play/>", "play-without-url-or-digits"),
    case(Code.SCHEMA, '<Stream url="wss://x"/>', "stream-at-top-level"),
    case(Code.SCHEMA, "<Start><Stream/></Start>", "start-stream-without-url"),
    case(Code.SCHEMA, '<Start><Stream url="https://x"/></Start>', "stream-not-wss"),
    case(Code.SCHEMA, "<Stop><Stream/></Stop>", "stop-stream-without-name"),
    case(Code.SCHEMA, "<Connect><ConversationRelay/></Connect>", "relay-without-url"),
    case(Code.SCHEMA, '<Connect><ConversationRelay url="https://x"/></Connect>', "relay-not-wss"),
    case(Code.SCHEMA, "<Connect/>", "connect-nothing"),
    case(
        Code.SCHEMA,
        '<Connect><Stream url="wss://x"/><ConversationRelay url="wss://y"/></Connect>',
        "connect-two-nouns",
    ),
    case(
        Code.SCHEMA,
        '<Connect><ConversationRelay url="wss://x"><Language/></ConversationRelay></Connect>',
        "language-code",
    ),
    case(
        Code.SCHEMA, '<Start><Stream url="wss://x"><Parameter value="v"/></Stream></Start>', "parameter-name"
    ),
    case(Code.SCHEMA, "<Dial><Client>a<Identity>b</Identity></Client></Dial>", "client-identity-twice"),
    case(Code.CONFERENCE_MIXED, f"<Dial>{N}<Conference>room</Conference></Dial>", "conference-and-number"),
    case(Code.DIAL_NESTED, "<Dial><Say>hi</Say></Dial>", "verb-inside-dial"),
    case(Code.DIAL_NESTED, "<Dial/>", "nothing-to-dial"),
    case(Code.DIAL_NESTED, f"<Dial>+14155550101{N}</Dial>", "text-and-noun"),
    case(Code.DIAL_NESTED, f"<Dial>{N * 11}</Dial>", "eleven-numbers"),
    case(Code.DIAL_NESTED, f"<Dial>{N}<Queue>q</Queue></Dial>", "queue-and-number"),
    case(Code.NUMBER_FORMAT, "<Dial><Number>call me</Number></Dial>", "number"),
    case(Code.NUMBER_FORMAT, "<Dial><Number/></Dial>", "empty-number"),
    case(Code.NUMBER_FORMAT, "<Dial>+1 (415) 555-0100 ext 2</Dial>", "dial-text"),
    case(Code.CONFERENCE_NAME, "<Dial><Conference/></Dial>", "conference-name"),
    case(Code.SIP_URI, "<Dial><Sip>alice@example.com</Sip></Dial>", "sip-uri"),
    case(Code.GATHER_NESTED, "<Gather><Gather/></Gather>", "gather-in-gather"),
    case(Code.GATHER_NESTED, f"<Gather><Dial>{N}</Dial></Gather>", "dial-in-gather"),
    case(Code.PLAY_DIGITS, '<Play digits="12a"/>', "play-digits"),
    case(Code.PLAY_DIGITS, '<Play digits="12a">https://x/a.mp3</Play>', "play-digits-with-url"),
    case(Code.SAY_TEXT, "<Say>   </Say>", "say-empty"),
    case(Code.SAY_TEXT, f"<Say>{'a' * 4097}</Say>", "say-too-long"),
    case(Code.MESSAGE_TO, '<Sms to="not a number">hi</Sms>', "sms-to"),
    case(Code.MESSAGE_FROM, '<Sms from="">hi</Sms>', "sms-from"),
    case(Code.MESSAGE_BODY, "<Sms/>", "sms-empty"),
    case(Code.ENQUEUE_NAME_TOO_SHORT, "<Enqueue/>", "enqueue-no-name"),
    case(Code.ENQUEUE_NAME_TOO_LONG, f"<Enqueue>{'q' * 65}</Enqueue>", "enqueue-long-name"),
    case(Code.ENQUEUE_NAME_TOO_SHORT, "<Enqueue><Task>{}</Task></Enqueue>", "enqueue-task-no-workflow"),
    case(Code.ENQUEUE_WORKFLOW_SID, '<Enqueue workflowSid="support"/>', "enqueue-workflow-sid"),
    case(Code.ENQUEUE_WORKFLOW_SID, '<Enqueue workflowSid="QU0123456789abcdef0123456789abcdef"/>', "not-ww"),
    case(Code.ENQUEUE_TASK_ATTRIBUTES, f"<Enqueue {WF}><Task>{{'a': 1}}</Task></Enqueue>", "task-not-json"),
    case(Code.ENQUEUE_TASK_ATTRIBUTES, f"<Enqueue {WF}><Task>[1, 2]</Task></Enqueue>", "task-not-object"),
    case(Code.SCHEMA, f"<Enqueue {WF}><Task>{{}}</Task><Task>{{}}</Task></Enqueue>", "two-tasks"),
    case(Code.QUEUE_NAME_TOO_SHORT, "<Dial><Queue/></Dial>", "queue-no-name"),
    case(Code.QUEUE_NAME_TOO_LONG, f"<Dial><Queue>{'q' * 65}</Queue></Dial>", "queue-long-name"),
    case(Code.QUEUE_RESERVATION_SID, '<Dial><Queue reservationSid="WT1">q</Queue></Dial>', "reservation-sid"),
]

MESSAGING = [
    case(Code.SCHEMA, "<Body>hi</Body>", "body-at-top-level"),
    case(Code.SCHEMA, "<Message><Redirect>/x</Redirect></Message>", "redirect-in-message"),
    case(Code.SCHEMA, "<Message>hi<Body>there</Body></Message>", "text-and-body"),
    case(Code.SCHEMA, f"<Message>{'<Media>https://x/a.png</Media>' * 11}</Message>", "eleven-media"),
    case(Code.SCHEMA, "<Message><Media/></Message>", "empty-media"),
    case(Code.MESSAGE_TO, '<Message to="">hi</Message>', "message-to"),
    case(Code.MESSAGE_FROM, '<Message from="a b">hi</Message>', "message-from"),
    case(Code.MESSAGE_BODY, "<Message/>", "message-empty"),
    case(Code.MESSAGE_BODY, f"<Message>{'a' * 1601}</Message>", "message-too-long"),
]


@pytest.mark.parametrize(("code", "document"), VOICE)
def test_voice_error(code: Code, document: str) -> None:
    with pytest.raises(TwimlError) as raised:
        parse_voice(document)
    assert raised.value.code == code
    assert raised.value.message.startswith("Response")  # says where


@pytest.mark.parametrize(("code", "document"), MESSAGING)
def test_messaging_error(code: Code, document: str) -> None:
    with pytest.raises(TwimlError) as raised:
        parse_messaging(document)
    assert raised.value.code == code


def test_error_message_names_the_place_and_value() -> None:
    with pytest.raises(TwimlError) as raised:
        parse_voice("<Response><Dial><Number>+1 call me</Number></Dial></Response>")
    assert (
        raised.value.message
        == "Response/Dial/Number: the text must be a phone number of up to 15 digits, not '+1 call me'"
    )
    assert str(raised.value) == f"13223: {raised.value.message}"


def test_every_code_is_raised_or_warned() -> None:
    """Document-level codes are in test_documents, the rest here or in test_warnings."""
    raised = {p.values[0] for p in VOICE + MESSAGING}
    warned = {p.values[0] for p in INVALID_VALUES} | {p.values[2] for p in OTHER_VOICE + OTHER_MESSAGING}
    document_level = {Code.RESPONSE_TOO_LARGE, Code.PARSE_FAILURE, Code.ROOT_NOT_RESPONSE}
    assert set(Code) - document_level - raised - warned == set()
