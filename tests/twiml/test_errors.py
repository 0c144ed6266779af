"""Each error code with a minimal document that triggers it; the document cannot run."""

import pytest

from twiml.errors import Code, TwimlError
from twiml.parser import parse_messaging, parse_voice


def case(code: Code, inner: str, name: str) -> object:
    return pytest.param(code, f"<Response>{inner}</Response>", id=f"{int(code)}-{name}")


def conference(attributes: str) -> str:
    return f"<Dial><Conference {attributes}>room</Conference></Dial>"


N = "<Number>+14155550100</Number>"

VOICE = [
    case(Code.SCHEMA, N, "noun-at-top-level"),
    case(Code.SCHEMA, "<Play><Say>hi</Say></Play>", "verb-inside-play"),
    case(Code.SCHEMA, "<Response/>", "response-inside-response"),
    case(Code.SCHEMA, "<Redirect/>", "redirect-without-url"),
    case(Code.SCHEMA, "<Play/>", "play-without-url-or-digits"),
    case(Code.SCHEMA, '<Say language="english">hi</Say>', "say-language"),
    case(Code.SCHEMA, '<Stream url="wss://x"/>', "stream-at-top-level"),
    case(Code.SCHEMA, "<Start><Stream/></Start>", "start-stream-without-url"),
    case(Code.SCHEMA, '<Start><Stream url="https://x"/></Start>', "stream-not-wss"),
    case(Code.SCHEMA, '<Connect><Stream url="wss://x" track="both_tracks"/></Connect>', "connect-two-tracks"),
    case(Code.SCHEMA, "<Stop><Stream/></Stop>", "stop-stream-without-name"),
    case(
        Code.SCHEMA, '<Start><Stream url="wss://x"><Parameter value="v"/></Stream></Start>', "parameter-name"
    ),
    case(Code.SCHEMA, "<Dial><Client>a<Identity>b</Identity></Client></Dial>", "client-identity-twice"),
    case(Code.CONFERENCE_MIXED, f"<Dial>{N}<Conference>room</Conference></Dial>", "conference-and-number"),
    case(Code.DIAL_METHOD, f'<Dial method="PUT">{N}</Dial>', "method"),
    case(Code.DIAL_TIMEOUT, f'<Dial timeout="4">{N}</Dial>', "timeout-below-5"),
    case(Code.DIAL_TIMEOUT, f'<Dial timeout="601">{N}</Dial>', "timeout-above-600"),
    case(Code.DIAL_HANGUP_ON_STAR, f'<Dial hangupOnStar="yes">{N}</Dial>', "hangup-on-star"),
    case(Code.DIAL_CALLER_ID, f'<Dial callerId="not a number">{N}</Dial>', "caller-id"),
    case(Code.DIAL_NESTED, "<Dial><Say>hi</Say></Dial>", "verb-inside-dial"),
    case(Code.DIAL_NESTED, "<Dial/>", "nothing-to-dial"),
    case(Code.DIAL_NESTED, f"<Dial>+14155550101{N}</Dial>", "text-and-noun"),
    case(Code.DIAL_NESTED, f"<Dial>{N * 11}</Dial>", "eleven-numbers"),
    case(Code.DIAL_NESTED, f"<Dial>{N}<Queue>q</Queue></Dial>", "queue-and-number"),
    case(Code.DIAL_TIME_LIMIT, f'<Dial timeLimit="0">{N}</Dial>', "time-limit"),
    case(Code.DIAL_RECORD, f'<Dial record="always">{N}</Dial>', "record"),
    case(Code.DIAL_SEQUENTIAL, f'<Dial sequential="maybe">{N}</Dial>', "sequential"),
    case(Code.DIAL_ANSWER_ON_BRIDGE, f'<Dial answerOnBridge="1">{N}</Dial>', "answer-on-bridge"),
    case(Code.DIAL_RING_TONE, f'<Dial ringTone="usa">{N}</Dial>', "ring-tone"),
    case(Code.NUMBER_METHOD, '<Dial><Number method="PUT">+14155550100</Number></Dial>', "number-method"),
    case(Code.NUMBER_SEND_DIGITS, '<Dial><Number sendDigits="12x">+1415</Number></Dial>', "send-digits"),
    case(Code.NUMBER_FORMAT, "<Dial><Number>call me</Number></Dial>", "number"),
    case(Code.NUMBER_FORMAT, "<Dial><Number/></Dial>", "empty-number"),
    case(Code.NUMBER_FORMAT, "<Dial>+1 (415) 555-0100 ext 2</Dial>", "dial-text"),
    case(Code.CONFERENCE_MUTED, conference('muted="yes"'), "muted"),
    case(Code.CONFERENCE_END_ON_EXIT, conference('endConferenceOnExit="1"'), "end-on-exit"),
    case(Code.CONFERENCE_START_ON_ENTER, conference('startConferenceOnEnter=""'), "start-on-enter"),
    case(Code.CONFERENCE_WAIT_METHOD, conference('waitMethod="PUT"'), "wait-method"),
    case(Code.CONFERENCE_BEEP, conference('beep="loud"'), "beep"),
    case(Code.CONFERENCE_NAME, "<Dial><Conference/></Dial>", "conference-name"),
    case(Code.CONFERENCE_TRIM, conference('trim="cut"'), "conference-trim"),
    case(Code.SIP_METHOD, '<Dial><Sip method="PUT">sip:a@b</Sip></Dial>', "sip-method"),
    case(Code.SIP_URI, "<Dial><Sip>alice@example.com</Sip></Dial>", "sip-uri"),
    case(Code.GATHER_FINISH_ON_KEY, '<Gather finishOnKey="a"/>', "finish-on-key"),
    case(Code.GATHER_FINISH_ON_KEY, '<Gather finishOnKey="#*"/>', "finish-on-two-keys"),
    case(Code.GATHER_METHOD, '<Gather method="PATCH"/>', "gather-method"),
    case(Code.GATHER_TIMEOUT, '<Gather timeout="0"/>', "gather-timeout-zero"),
    case(Code.GATHER_TIMEOUT, '<Gather timeout="5.5"/>', "gather-timeout-fraction"),
    case(Code.GATHER_TIMEOUT, '<Gather timeout="٥"/>', "gather-timeout-arabic-digit"),
    case(Code.GATHER_NUM_DIGITS, '<Gather numDigits="0"/>', "num-digits"),
    case(Code.GATHER_NESTED, "<Gather><Gather/></Gather>", "gather-in-gather"),
    case(Code.GATHER_NESTED, f"<Gather><Dial>{N}</Dial></Gather>", "dial-in-gather"),
    case(Code.GATHER_SAY_VOICE, '<Gather><Say voice="robot">hi</Say></Gather>', "nested-say-voice"),
    case(Code.GATHER_SAY_LOOP, '<Gather><Say loop="-1">hi</Say></Gather>', "nested-say-loop"),
    case(Code.GATHER_INPUT, '<Gather input="voice"/>', "input"),
    case(Code.GATHER_SPEECH_TIMEOUT, '<Gather speechTimeout="soon"/>', "speech-timeout"),
    case(Code.GATHER_MAX_SPEECH_TIME, '<Gather maxSpeechTime="61"/>', "max-speech-time"),
    case(Code.GATHER_PARTIAL_RESULT_METHOD, '<Gather partialResultCallbackMethod="PUT"/>', "partial-method"),
    case(Code.GATHER_LANGUAGE, '<Gather language="french"/>', "gather-language"),
    case(Code.GATHER_BARGE_IN, '<Gather bargeIn="no"/>', "barge-in"),
    case(Code.GATHER_PROFANITY_FILTER, '<Gather profanityFilter="no"/>', "profanity-filter"),
    case(Code.GATHER_ACTION_ON_EMPTY_RESULT, '<Gather actionOnEmptyResult="no"/>', "action-on-empty-result"),
    case(Code.PLAY_LOOP, '<Play loop="1001">https://x/a.mp3</Play>', "play-loop"),
    case(Code.PLAY_DIGITS, '<Play digits="12a"/>', "play-digits"),
    case(Code.SAY_LOOP, '<Say loop="twice">hi</Say>', "say-loop"),
    case(Code.SAY_VOICE, '<Say voice="robot">hi</Say>', "say-voice"),
    case(Code.SAY_TEXT, "<Say>   </Say>", "say-empty"),
    case(Code.SAY_TEXT, f"<Say>{'a' * 4097}</Say>", "say-too-long"),
    case(Code.RECORD_METHOD, '<Record method="PUT"/>', "record-method"),
    case(Code.RECORD_TIMEOUT, '<Record timeout="-1"/>', "record-timeout"),
    case(Code.RECORD_MAX_LENGTH, '<Record maxLength="0"/>', "max-length-zero"),
    case(Code.RECORD_MAX_LENGTH, '<Record maxLength="14401"/>', "max-length-above-4h"),
    case(Code.RECORD_FINISH_ON_KEY, '<Record finishOnKey="abc"/>', "record-finish-on-key"),
    case(Code.RECORD_TRANSCRIBE, '<Record transcribe="yes"/>', "transcribe"),
    case(Code.RECORD_PLAY_BEEP, '<Record playBeep="yes"/>', "play-beep"),
    case(Code.RECORDING_STATUS_CALLBACK_EVENT, '<Record recordingStatusCallbackEvent="done"/>', "events"),
    case(Code.RECORD_TRIM, '<Record trim="cut"/>', "record-trim"),
    case(Code.REDIRECT_METHOD, '<Redirect method="PUT">/next</Redirect>', "redirect-method"),
    case(Code.REJECT_REASON, '<Reject reason="nope"/>', "reject-reason"),
    case(Code.PAUSE_LENGTH, '<Pause length="-1"/>', "pause-length"),
    case(Code.MESSAGE_TO, '<Sms to="not a number">hi</Sms>', "sms-to"),
    case(Code.MESSAGE_FROM, '<Sms from="">hi</Sms>', "sms-from"),
    case(Code.MESSAGE_BODY, "<Sms/>", "sms-empty"),
    case(Code.MESSAGE_METHOD, '<Sms method="PUT">hi</Sms>', "sms-method"),
    case(Code.ENQUEUE_METHOD, '<Enqueue method="PUT">support</Enqueue>', "enqueue-method"),
    case(Code.ENQUEUE_NAME_TOO_SHORT, "<Enqueue/>", "enqueue-no-name"),
    case(Code.ENQUEUE_NAME_TOO_LONG, f"<Enqueue>{'q' * 65}</Enqueue>", "enqueue-long-name"),
    case(Code.ENQUEUE_WAIT_URL_METHOD, '<Enqueue waitUrlMethod="PUT">support</Enqueue>', "wait-url-method"),
    case(Code.QUEUE_METHOD, '<Dial><Queue method="PUT">support</Queue></Dial>', "queue-method"),
    case(Code.QUEUE_NAME_TOO_SHORT, "<Dial><Queue/></Dial>", "queue-no-name"),
    case(Code.QUEUE_NAME_TOO_LONG, f"<Dial><Queue>{'q' * 65}</Queue></Dial>", "queue-long-name"),
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
    case(Code.MESSAGE_METHOD, '<Message method="PUT">hi</Message>', "message-method"),
    case(Code.MESSAGE_METHOD, '<Redirect method="PUT">/next</Redirect>', "redirect-method"),
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


def test_error_message_names_the_attribute_and_value() -> None:
    with pytest.raises(TwimlError) as raised:
        parse_voice('<Response><Gather><Say loop="x">hi</Say></Gather></Response>')
    assert raised.value.message == "Response/Gather/Say: loop must be an integer from 0 to 1000, not 'x'"
    assert str(raised.value) == f"13322: {raised.value.message}"


def test_every_element_code_has_a_case() -> None:
    """Document-level codes are in test_documents, warning-only codes in test_warnings."""
    covered = {p.values[0] for p in VOICE + MESSAGING}
    document_level = {Code.RESPONSE_TOO_LARGE, Code.PARSE_FAILURE, Code.ROOT_NOT_RESPONSE}
    warning_only = {Code.RECORD_TOO_LONG_TO_TRANSCRIBE, Code.MESSAGE_INVALID_VERB}
    assert set(Code) - document_level - warning_only - covered == set()
