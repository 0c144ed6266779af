"""What each TwiML element may carry: attributes with their value parsers and error codes, body, children.

Ranges Twilio does not document are ours and marked "(ours)"; they only bound absurd values.
An invalid attribute value falls back to the field's default with a warning unless the attribute is
`strict`; see `twiml.errors` for the rule and which codes warn or raise.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any, Protocol

from twiml import values as v
from twiml import verbs
from twiml.errors import Code, TwimlError
from twiml.verbs import attribute_name


class Context(Protocol):
    """Where the parser is, for messages, and where a check may leave a warning."""

    path: str

    def warn(self, code: int, message: str) -> None: ...


Check = Callable[[dict[str, Any], Context], None]


class _Strict:
    """The marker for "no fallback": an invalid value raises instead of falling back to a default."""

    def __repr__(self) -> str:
        return "STRICT"


STRICT: Any = _Strict()


@dataclass(frozen=True)
class Attr:
    """How to read one attribute or body; `fallback` is what an invalid value becomes (with a warning)."""

    parse: v.Parse
    code: int
    fallback: Any = STRICT


@dataclass(frozen=True)
class Spec:
    """One element in one position; `make=None` is a text-only noun (Body, Media, Identity) parsed to str."""

    tag: str
    make: type[Any] | None
    attrs: Mapping[str, Attr]  # by dataclass field name
    body: Attr | None = None
    body_field: str | None = None
    body_required: bool = False
    children: Mapping[str, tuple["Spec", str]] = field(default_factory=dict)
    nested_code: int = Code.SCHEMA  # a known element that may not appear here
    unsupported_attrs: frozenset[str] = frozenset()  # Twilio's, but Switchboard ignores them (warned)
    unsupported_children: frozenset[str] = frozenset()
    check: Check | None = None
    flatten_markup: bool = False  # Say: SSML children are spoken as their plain text
    by_attribute: Mapping[str, str] = field(default_factory=dict)  # TwiML attribute -> field name


def spec(
    make: type,
    *,
    body: tuple[v.Parse, int] | None = None,
    body_field: str | None = None,
    children: Mapping[str, tuple[Spec, str]] | None = None,
    nested_code: int = Code.SCHEMA,
    unsupported_attrs: Iterable[str] = (),
    unsupported_children: Iterable[str] = (),
    check: Check | None = None,
    strict: Iterable[str] = (),
    **attrs: tuple[v.Parse, int],
) -> Spec:
    """A Spec for dataclass `make`; attribute keywords are its field names, each `(parser, code)`.

    An invalid attribute value falls back to the field's default with a warning, as Twilio does, except
    for the fields named in `strict` (and fields without a default), whose invalid values raise.
    Bodies are always strict.
    """
    by_name = {f.name: f for f in fields(make)}
    strict_names = frozenset(strict)

    def attr(name: str, parse: v.Parse, code: int) -> Attr:
        default = by_name[name].default
        return Attr(parse, code, STRICT if name in strict_names or default is MISSING else default)

    if body_field is None:
        body_field = next((f.name for f in by_name.values() if f.metadata.get("twiml") == "body"), None)
    assert set(attrs) <= set(by_name), f"{make.__name__}: no fields {set(attrs) - set(by_name)}"
    assert strict_names <= set(attrs), f"{make.__name__}: no attributes {strict_names - set(attrs)}"
    return Spec(
        tag=make.__name__,
        make=make,
        attrs={name: attr(name, *pair) for name, pair in attrs.items()},
        body=Attr(*body) if body else None,
        body_field=body_field,
        body_required=body_field in by_name and by_name[body_field].default is MISSING,
        children=children or {},
        nested_code=nested_code,
        unsupported_attrs=frozenset(unsupported_attrs),
        unsupported_children=frozenset(unsupported_children),
        check=check,
        by_attribute={attribute_name(name): name for name in attrs},
    )


def text_noun(tag: str, *, required: bool) -> Spec:
    return Spec(tag, None, {}, body=Attr(v.text, Code.SCHEMA), body_required=required)


def kids(field_name: str, *specs: Spec) -> dict[str, tuple[Spec, str]]:
    return {s.tag: (s, field_name) for s in specs}


def recode(base: Spec, **codes: int) -> Spec:
    """The same element with other codes for some attributes (Say inside Gather has its own)."""
    attrs = {name: replace(a, code=codes.get(name, a.code)) for name, a in base.attrs.items()}
    return replace(base, attrs=attrs)


def vocabulary(root: Spec) -> frozenset[str]:
    """Every tag reachable from `root`: known elements, which are errors out of place, not warnings."""
    seen: set[str] = set()
    stack = [root]
    while stack:
        s = stack.pop()
        if s.tag not in seen:
            seen.add(s.tag)
            stack.extend(child for child, _ in s.children.values())
    return frozenset(seen)


def _fail(code: int, ctx: Context, message: str) -> TwimlError:
    return TwimlError(code, f"{ctx.path}: {message}")


def using(default: Any) -> str:
    """How a warning names the default an invalid value fell back to, in TwiML's spelling."""
    if default is None:
        return "ignored, as if absent"
    if isinstance(default, bool):
        shown = str(default).lower()
    elif isinstance(default, tuple):
        shown = " ".join(default)
    else:
        shown = str(default)
    return f"using the default {shown!r}"


S = Code.SCHEMA
URL = (v.text, S)
METHOD = (v.method, S)
TRIM = v.choice("trim-silence", "do-not-trim", aliases={"true": "trim-silence", "false": "do-not-trim"})
RECORDING_EVENTS = (v.events("in-progress", "completed", "absent"), Code.RECORDING_STATUS_CALLBACK_EVENT)
CALL_EVENTS = (v.events("initiated", "ringing", "answered", "completed"), S)
LOOP = v.integer(0, 1000)  # (ours) 0 = until hangup
AMD = (
    "machineDetection",
    "machineDetectionTimeout",
    "machineDetectionSpeechThreshold",
    "machineDetectionSpeechEndThreshold",
    "machineDetectionSilenceTimeout",
    "amdStatusCallback",
    "amdStatusCallbackMethod",
)

# Twilio elements Switchboard does not implement: skipped with a warning wherever they appear.
UNSUPPORTED_TAGS = frozenset(
    {"Pay", "Prompt", "Refer", "Echo", "Sim", "Application", "ApplicationSid", "WhatsApp", "Uri", "Headers"}
    | {"Header", "Siprec", "Transcription", "Recording", "Room", "Autopilot", "VirtualAgent", "Conversation"}
    | {"ConversationRelaySession", "AiSession", "Config"}
)


# --- checks across fields -------------------------------------------------------------------------


def _play_needs_something(kw: dict[str, Any], ctx: Context) -> None:
    if not kw.get("url") and kw.get("digits") is None:
        raise _fail(S, ctx, "<Play> needs a URL as its text or a digits attribute")


def _record_transcription(kw: dict[str, Any], ctx: Context) -> None:
    if kw.get("transcribe") and kw.get("max_length", 3600) > 120:
        ctx.warn(
            Code.RECORD_TOO_LONG_TO_TRANSCRIBE,
            f"{ctx.path}: transcription covers recordings up to 120 s; maxLength allows more",
        )


def _dial_targets(kw: dict[str, Any], ctx: Context) -> None:
    number = kw.pop("_number", None)
    nouns = kw.get("children", ())
    if number is not None:
        if nouns:
            raise _fail(Code.DIAL_NESTED, ctx, "<Dial> takes a number as text or nouns, not both")
        kw["children"] = nouns = (verbs.Number(number),)
    if not nouns:
        raise _fail(Code.DIAL_NESTED, ctx, "<Dial> needs a number or a noun")
    if len(nouns) > 1 and any(isinstance(n, verbs.Conference) for n in nouns):
        raise _fail(Code.CONFERENCE_MIXED, ctx, "<Conference> must be the only noun in its <Dial>")
    if len(nouns) > 1 and any(isinstance(n, verbs.Queue) for n in nouns):
        raise _fail(Code.DIAL_NESTED, ctx, "<Queue> must be the only noun in its <Dial>")
    if sum(isinstance(n, verbs.Number) for n in nouns) > 10:
        raise _fail(Code.DIAL_NESTED, ctx, "<Dial> rings at most 10 <Number> nouns")


def _enqueue_target(kw: dict[str, Any], ctx: Context) -> None:
    if not kw.get("name") and not kw.get("workflow_sid"):
        raise _fail(Code.ENQUEUE_NAME_TOO_SHORT, ctx, "<Enqueue> needs a queue name or a workflowSid")
    if kw.get("task") is not None and not kw.get("workflow_sid"):
        kw.pop("task")
        ctx.warn(S, f"{ctx.path}: <Task> is for an <Enqueue> with a workflowSid and was ignored")


def _message_content(kw: dict[str, Any], ctx: Context) -> None:
    body, media = kw.get("body", ""), kw.get("media", ())
    if not body and not media:
        raise _fail(Code.MESSAGE_BODY, ctx, "<Message> needs a body or media")
    if len(body) > 1600:
        raise _fail(Code.MESSAGE_BODY, ctx, f"the body has {len(body)} characters; the limit is 1600")
    if len(media) > 10:
        raise _fail(S, ctx, f"{len(media)} <Media> given; the limit is 10")


def _stream_url(kw: dict[str, Any], ctx: Context) -> None:
    if not kw.get("url"):
        raise _fail(S, ctx, "<Stream> needs a url")


def _connect_stream(kw: dict[str, Any], ctx: Context) -> None:
    _stream_url(kw, ctx)
    track = kw.pop("track", "inbound_track")
    if track != "inbound_track":
        message = f"track must be inbound_track under <Connect>, not {track!r}; {using('inbound_track')}"
        ctx.warn(S, f"{ctx.path}: {message}")


def _connect_one(kw: dict[str, Any], ctx: Context) -> None:
    nouns = kw.get("children", ())
    if len(nouns) != 1:
        raise _fail(S, ctx, f"<Connect> takes one <Stream> or <ConversationRelay>, got {len(nouns)}")


def _relay_url(kw: dict[str, Any], ctx: Context) -> None:
    if not kw.get("url"):
        raise _fail(S, ctx, "<ConversationRelay> needs a url")


def _stop_stream(kw: dict[str, Any], ctx: Context) -> None:
    if not kw.get("url") and not kw.get("name"):
        raise _fail(S, ctx, "<Stop><Stream> needs the name (or url) of the stream to stop")


# --- voice ----------------------------------------------------------------------------------------

PARAMETER = spec(verbs.Parameter, name=(v.text, S), value=(v.text, S))
IDENTITY = text_noun("Identity", required=True)
STREAM = spec(
    verbs.Stream,
    children=kids("parameters", PARAMETER),
    unsupported_attrs=("connectorName", "audioFormat", "sampleRate"),
    strict=("url",),  # where the media goes: no default
    url=(v.websocket_url, S),
    name=(v.text, S),
    track=(v.choice("inbound_track", "outbound_track", "both_tracks"), S),
    status_callback=URL,
    status_callback_method=METHOD,
)

SAY = replace(
    spec(
        verbs.Say,
        body=(v.sized(1, 4096, too_short=Code.SAY_TEXT, too_long=Code.SAY_TEXT), Code.SAY_TEXT),
        voice=(v.voice, Code.SAY_VOICE),
        language=(v.language, S),
        loop=(LOOP, Code.SAY_LOOP),
    ),
    flatten_markup=True,
)
PLAY = spec(
    verbs.Play,
    body=URL,
    check=_play_needs_something,
    strict=("digits",),  # what <Play> plays, like its URL text
    loop=(LOOP, Code.PLAY_LOOP),
    digits=(v.dtmf, Code.PLAY_DIGITS),
)
PAUSE = spec(verbs.Pause, length=(v.integer(0, 14400), Code.PAUSE_LENGTH))  # (ours) 0 to 4 h
GATHER = spec(
    verbs.Gather,
    children=kids(
        "children", recode(SAY, voice=Code.GATHER_SAY_VOICE, loop=Code.GATHER_SAY_LOOP), PLAY, PAUSE
    ),
    nested_code=Code.GATHER_NESTED,
    unsupported_attrs=("debug",),
    input=(v.gather_input, Code.GATHER_INPUT),
    action=URL,
    method=(v.method, Code.GATHER_METHOD),
    timeout=(v.integer(1, 600), Code.GATHER_TIMEOUT),  # (ours) upper bound
    finish_on_key=(v.keys(single=True), Code.GATHER_FINISH_ON_KEY),
    num_digits=(v.integer(1, 1000), Code.GATHER_NUM_DIGITS),  # (ours) upper bound
    speech_timeout=(v.speech_timeout, Code.GATHER_SPEECH_TIMEOUT),
    max_speech_time=(v.integer(1, 60), Code.GATHER_MAX_SPEECH_TIME),
    profanity_filter=(v.boolean, Code.GATHER_PROFANITY_FILTER),
    hints=(v.text, S),
    barge_in=(v.boolean, Code.GATHER_BARGE_IN),
    action_on_empty_result=(v.boolean, Code.GATHER_ACTION_ON_EMPTY_RESULT),
    partial_result_callback=URL,
    partial_result_callback_method=(v.method, Code.GATHER_PARTIAL_RESULT_METHOD),
    language=(v.language, Code.GATHER_LANGUAGE),
    speech_model=(v.text, S),
    enhanced=(v.boolean, S),
)
RECORD = spec(
    verbs.Record,
    check=_record_transcription,
    unsupported_attrs=("recordingConfigurationId",),
    action=URL,
    method=(v.method, Code.RECORD_METHOD),
    timeout=(v.integer(0, 3600), Code.RECORD_TIMEOUT),  # 0 = no silence detection; (ours) upper bound
    finish_on_key=(v.keys(single=False), Code.RECORD_FINISH_ON_KEY),
    max_length=(v.integer(1, 14400), Code.RECORD_MAX_LENGTH),
    play_beep=(v.boolean, Code.RECORD_PLAY_BEEP),
    trim=(TRIM, Code.RECORD_TRIM),
    recording_status_callback=URL,
    recording_status_callback_method=METHOD,
    recording_status_callback_event=RECORDING_EVENTS,
    transcribe=(v.boolean, Code.RECORD_TRANSCRIBE),
    transcribe_callback=URL,
)
HANGUP = spec(verbs.Hangup, unsupported_children=("Parameter",))
LEAVE = spec(verbs.Leave)
REJECT = spec(
    verbs.Reject,
    unsupported_children=("Parameter",),
    reason=(v.choice("rejected", "busy"), Code.REJECT_REASON),
)
REDIRECT = spec(verbs.Redirect, body=URL, method=(v.method, Code.REDIRECT_METHOD))

NUMBER = spec(
    verbs.Number,
    body=(v.phone_number, Code.NUMBER_FORMAT),
    unsupported_attrs=("byoc", *AMD),
    send_digits=(v.dtmf, Code.NUMBER_SEND_DIGITS),
    url=URL,
    method=(v.method, Code.NUMBER_METHOD),
    status_callback=URL,
    status_callback_event=CALL_EVENTS,
    status_callback_method=METHOD,
)
SIP = spec(
    verbs.Sip,
    body=(v.sip_uri, Code.SIP_URI),
    unsupported_attrs=AMD,
    username=(v.text, S),
    password=(v.text, S),
    url=URL,
    method=(v.method, Code.SIP_METHOD),
    status_callback=URL,
    status_callback_event=CALL_EVENTS,
    status_callback_method=METHOD,
)
CLIENT = spec(
    verbs.Client,
    body=(v.text, S),
    children={**kids("identity", IDENTITY), **kids("parameters", PARAMETER)},
    url=URL,
    method=METHOD,
    status_callback=URL,
    status_callback_event=CALL_EVENTS,
    status_callback_method=METHOD,
)
CONFERENCE = spec(
    verbs.Conference,
    body=(v.text, Code.CONFERENCE_NAME),
    unsupported_attrs=("recordingConfigurationId", "region", "eventCallbackUrl", "jitterBufferSize"),
    muted=(v.boolean, Code.CONFERENCE_MUTED),
    beep=(v.choice("true", "false", "onEnter", "onExit"), Code.CONFERENCE_BEEP),
    start_conference_on_enter=(v.boolean, Code.CONFERENCE_START_ON_ENTER),
    end_conference_on_exit=(v.boolean, Code.CONFERENCE_END_ON_EXIT),
    wait_url=URL,
    wait_method=(v.method, Code.CONFERENCE_WAIT_METHOD),
    max_participants=(v.integer(2, 250), S),
    record=(v.choice("do-not-record", "record-from-start", aliases={"true": "record-from-start"}), S),
    trim=(TRIM, Code.CONFERENCE_TRIM),
    coach=(v.text, S),
    status_callback=URL,
    status_callback_event=(
        v.events("start", "end", "join", "leave", "mute", "hold", "modify", "speaker", "announcement"),
        S,
    ),
    status_callback_method=METHOD,
    recording_status_callback=URL,
    recording_status_callback_method=METHOD,
    recording_status_callback_event=RECORDING_EVENTS,
    participant_label=(v.text, S),
)
QUEUE = spec(
    verbs.Queue,
    body=(
        v.sized(1, 64, too_short=Code.QUEUE_NAME_TOO_SHORT, too_long=Code.QUEUE_NAME_TOO_LONG),
        Code.QUEUE_NAME_TOO_SHORT,
    ),
    url=URL,
    method=(v.method, Code.QUEUE_METHOD),
    strict=("reservation_sid",),  # whom the agent is bridged to: no default
    reservation_sid=(v.sid("WR"), Code.QUEUE_RESERVATION_SID),
    post_work_activity_sid=(v.text, S),
)
DIAL = spec(
    verbs.Dial,
    body=(v.phone_number, Code.NUMBER_FORMAT),
    body_field="_number",
    children=kids("children", NUMBER, SIP, CLIENT, CONFERENCE, QUEUE),
    nested_code=Code.DIAL_NESTED,
    check=_dial_targets,
    unsupported_attrs=(
        "referUrl",
        "referMethod",
        "events",
        "passports",
        "recordingConfigurationId",
        "callReason",
    ),
    action=URL,
    method=(v.method, Code.DIAL_METHOD),
    timeout=(v.integer(5, 600), Code.DIAL_TIMEOUT),
    hangup_on_star=(v.boolean, Code.DIAL_HANGUP_ON_STAR),
    time_limit=(v.integer(1, 86400), Code.DIAL_TIME_LIMIT),
    caller_id=(v.caller_id, Code.DIAL_CALLER_ID),
    record=(
        v.choice(
            "do-not-record",
            "record-from-answer",
            "record-from-ringing",
            "record-from-answer-dual",
            "record-from-ringing-dual",
            aliases={"true": "record-from-answer", "false": "do-not-record"},
        ),
        Code.DIAL_RECORD,
    ),
    trim=(TRIM, S),
    recording_status_callback=URL,
    recording_status_callback_method=METHOD,
    recording_status_callback_event=RECORDING_EVENTS,
    recording_track=(v.choice("both", "inbound", "outbound"), S),
    answer_on_bridge=(v.boolean, Code.DIAL_ANSWER_ON_BRIDGE),
    ring_tone=(v.ring_tone, Code.DIAL_RING_TONE),
    sequential=(v.boolean, Code.DIAL_SEQUENTIAL),
)
TASK = spec(
    verbs.Task,
    body=(v.json_object, Code.ENQUEUE_TASK_ATTRIBUTES),
    priority=(v.integer(0, 2**31 - 1), S),
    timeout=(v.integer(1, 2592000), S),  # TaskRouter's ceiling: 30 days
)
ENQUEUE = spec(
    verbs.Enqueue,
    body=(
        v.sized(1, 64, too_short=Code.ENQUEUE_NAME_TOO_SHORT, too_long=Code.ENQUEUE_NAME_TOO_LONG),
        Code.ENQUEUE_NAME_TOO_SHORT,
    ),
    children={"Task": (TASK, "task")},
    check=_enqueue_target,
    strict=("workflow_sid",),  # where the caller goes: no default
    workflow_sid=(v.sid("WW"), Code.ENQUEUE_WORKFLOW_SID),
    action=URL,
    method=(v.method, Code.ENQUEUE_METHOD),
    wait_url=URL,
    wait_url_method=(v.method, Code.ENQUEUE_WAIT_URL_METHOD),
    max_queue_size=(v.integer(1, 5000), S),
)
SMS = spec(
    verbs.Sms,
    body=(v.sized(1, 1600, too_short=Code.MESSAGE_BODY, too_long=Code.MESSAGE_BODY), Code.MESSAGE_BODY),
    strict=("to", "from_"),  # the default parties are others than the ones written
    to=(v.address, Code.MESSAGE_TO),
    from_=(v.address, Code.MESSAGE_FROM),
    action=URL,
    method=(v.method, Code.MESSAGE_METHOD),
    status_callback=URL,
)
START = spec(
    verbs.Start, children=kids("children", replace(STREAM, check=_stream_url)), action=URL, method=METHOD
)
STOP = spec(verbs.Stop, children=kids("children", replace(STREAM, check=_stop_stream)))
INTERRUPTIBLE = v.choice("none", "dtmf", "speech", "any", aliases={"true": "any", "false": "none"})
LANGUAGE = spec(
    verbs.Language,
    unsupported_attrs=("asrSmartFormat", "ttsTextNormalization", "ttsLanguageTextNormalization"),
    code=(v.language, S),
    tts_provider=(v.text, S),
    voice=(v.text, S),
    transcription_provider=(v.text, S),
    speech_model=(v.text, S),
    hints=(v.text, S),
)
CONVERSATION_RELAY = spec(
    verbs.ConversationRelay,
    children={**kids("languages", LANGUAGE), **kids("parameters", PARAMETER)},
    check=_relay_url,
    unsupported_attrs=(
        "intelligenceService",
        "elevenlabsTextNormalization",
        "interruptSensitivity",
        "debug",
        "backgroundNoiseReduction",
        "speechTimeout",
        "deepgramSmartFormat",
        "ignoreBackchannel",
        "events",
        "partialPromptOnHangup",
        "eagerEotThreshold",
        "asrSmartFormat",
        "ttsTextNormalization",
        "ttsLanguageTextNormalization",
        "elevenlabsLanguageTextNormalization",
        "includeInPrompt",
        "customerName",
        "applicationReconnect",
        "echoPromptFiltering",
        "turnDetection",
    ),
    strict=("url",),  # where the session goes: no default
    url=(v.websocket_url, S),
    language=(v.language, S),
    tts_language=(v.language, S),
    transcription_language=(v.language, S),
    tts_provider=(v.text, S),
    voice=(v.text, S),
    transcription_provider=(v.text, S),
    speech_model=(v.text, S),
    profanity_filter=(v.boolean, S),
    dtmf_detection=(v.boolean, S),
    welcome_greeting=(v.text, S),
    partial_prompts=(v.boolean, S),
    welcome_greeting_interruptible=(INTERRUPTIBLE, S),
    interruptible=(INTERRUPTIBLE, S),
    preemptible=(v.boolean, S),
    hints=(v.text, S),
    report_input_during_agent_speech=(INTERRUPTIBLE, S),
)
CONNECT = spec(
    verbs.Connect,
    children=kids("children", replace(STREAM, check=_connect_stream), CONVERSATION_RELAY),
    check=_connect_one,
    action=URL,
    method=METHOD,
)

VOICE = spec(
    verbs.Response,
    children=kids(
        "verbs",
        SAY,
        PLAY,
        PAUSE,
        GATHER,
        RECORD,
        HANGUP,
        REJECT,
        REDIRECT,
        DIAL,
        SMS,
        ENQUEUE,
        LEAVE,
        START,
        STOP,
        CONNECT,
    ),
)

# --- messaging ------------------------------------------------------------------------------------

MESSAGE = spec(
    verbs.Message,
    body=(v.text, Code.MESSAGE_BODY),
    children={
        **kids("body", text_noun("Body", required=False)),
        **kids("media", text_noun("Media", required=True)),
    },
    check=_message_content,
    strict=("to", "from_"),  # the default parties are others than the ones written
    to=(v.address, Code.MESSAGE_TO),
    from_=(v.address, Code.MESSAGE_FROM),
    action=URL,
    method=(v.method, Code.MESSAGE_METHOD),
    status_callback=URL,
)
MESSAGING = replace(
    spec(
        verbs.MessagingResponse,
        children=kids("verbs", MESSAGE, recode(REDIRECT, method=Code.MESSAGE_METHOD)),
    ),
    tag="Response",
)
VOICE = replace(VOICE, tag="Response")
