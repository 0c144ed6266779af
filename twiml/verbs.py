"""TwiML verbs and nouns as frozen dataclasses, with Twilio's documented defaults.

Python names are snake_case; the TwiML attribute is `attribute_name(field)`: the field in lower
camelCase with a trailing underscore dropped, e.g. `finish_on_key` -> `finishOnKey`,
`status_callback_method` -> `statusCallbackMethod`, `from_` -> `from`.

Fields made by `body_field()` are the element's text (`<Say>Hello</Say>`, `<Number>+1…</Number>`),
fields made by `children_field()` are nested elements (`child_field()`: at most one), and every
other field is an attribute.
`None` means "absent", so Twilio's behaviour for a missing attribute applies (e.g. `Gather.action=None`
re-requests the current document). Space-separated list attributes (`statusCallbackEvent`) are tuples.
`loop=0` means "until hangup"; the interpreter, not this library, caps it.
"""

from dataclasses import dataclass, field
from typing import Any, Literal

Method = Literal["GET", "POST"]
Trim = Literal["trim-silence", "do-not-trim"]
Track = Literal["inbound_track", "outbound_track", "both_tracks"]
# What caller input may cut the agent's speech short (ConversationRelay); true/false are any/none.
Interruptible = Literal["none", "dtmf", "speech", "any"]
DialRecord = Literal[
    "do-not-record",
    "record-from-answer",
    "record-from-ringing",
    "record-from-answer-dual",
    "record-from-ringing-dual",
]


def body_field(*, required: bool = False, tag: str | None = None) -> Any:
    """The element's text; with `tag`, written as that child element when the element has children too."""
    metadata = {"twiml": "body", "tag": tag}
    return field(metadata=metadata) if required else field(default="", metadata=metadata)


def children_field(*, tag: str | None = None) -> Any:
    """Nested elements; with `tag`, a tuple of strings each written as `<tag>text</tag>`."""
    return field(default=(), metadata={"twiml": "children", "tag": tag})


def child_field() -> Any:
    """One nested element, or None when it is absent."""
    return field(default=None, metadata={"twiml": "child", "tag": None})


def attribute_name(field_name: str) -> str:
    """The TwiML attribute for a dataclass field: `finish_on_key` -> `finishOnKey`, `from_` -> `from`."""
    head, *rest = field_name.rstrip("_").split("_")
    return head + "".join(word.title() for word in rest)


# --- Shared nouns ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    """A custom name/value passed to a `<Client>` or a media `<Stream>`."""

    name: str
    value: str = ""


@dataclass(frozen=True)
class Stream:
    """Media fork (under Start/Stop) or bidirectional WebSocket (under Connect); `url` is wss:// (or ws://)."""

    url: str | None = None
    name: str | None = None
    track: Track = "inbound_track"
    status_callback: str | None = None
    status_callback_method: Method = "POST"
    parameters: tuple[Parameter, ...] = children_field()


@dataclass(frozen=True)
class Language:
    """A language a `<ConversationRelay>` may switch to, with its own speech providers and voice."""

    code: str
    tts_provider: str | None = None
    voice: str | None = None
    transcription_provider: str | None = None
    speech_model: str | None = None
    hints: str | None = None


@dataclass(frozen=True)
class ConversationRelay:
    """Under Connect: the platform does the call's speech and talks text with the app at `url`
    (wss:// or ws://). `None` languages and providers mean "as `language`" and "the default"."""

    url: str | None = None
    language: str = "en-US"
    tts_language: str | None = None
    transcription_language: str | None = None
    tts_provider: str | None = None
    voice: str | None = None
    transcription_provider: str | None = None
    speech_model: str | None = None
    profanity_filter: bool = True
    dtmf_detection: bool = False
    welcome_greeting: str | None = None
    partial_prompts: bool = False
    welcome_greeting_interruptible: Interruptible = "any"
    interruptible: Interruptible = "any"
    preemptible: bool = False
    hints: str | None = None  # comma-separated words and phrases the caller is likely to say
    report_input_during_agent_speech: Interruptible = "none"
    languages: tuple[Language, ...] = children_field()
    parameters: tuple[Parameter, ...] = children_field()


# --- Simple voice verbs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Say:
    text: str = body_field(required=True)
    voice: str = "man"
    language: str = "en-US"
    loop: int = 1


@dataclass(frozen=True)
class Play:
    """Plays `url`, or sends `digits` as DTMF (`w` waits half a second)."""

    url: str = body_field()
    loop: int = 1
    digits: str | None = None


@dataclass(frozen=True)
class Pause:
    length: int = 1


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class Leave:
    """Inside waitUrl TwiML: leave the queue and continue after the `<Enqueue>`."""


@dataclass(frozen=True)
class Reject:
    reason: Literal["rejected", "busy"] = "rejected"


@dataclass(frozen=True)
class Redirect:
    """Continue with the document at `url` (voice and messaging)."""

    url: str = body_field(required=True)
    method: Method = "POST"


# --- Input ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gather:
    """Collect DTMF and/or speech while the nested Say/Play/Pause run.

    `speech_timeout=None` means "same as timeout"; `num_digits=None` means unlimited.
    """

    children: tuple[Say | Play | Pause, ...] = children_field()
    input: Literal["dtmf", "speech", "dtmf speech"] = "dtmf"
    action: str | None = None
    method: Method = "POST"
    timeout: int = 5
    finish_on_key: str = "#"
    num_digits: int | None = None
    speech_timeout: int | Literal["auto"] | None = None
    max_speech_time: int = 60
    profanity_filter: bool = True
    hints: str | None = None
    barge_in: bool = True
    action_on_empty_result: bool = False
    partial_result_callback: str | None = None
    partial_result_callback_method: Method = "POST"
    language: str = "en-US"
    speech_model: str | None = None
    enhanced: bool = False


@dataclass(frozen=True)
class Record:
    action: str | None = None
    method: Method = "POST"
    timeout: int = 5
    finish_on_key: str = "1234567890*#"
    max_length: int = 3600
    play_beep: bool = True
    trim: Trim = "trim-silence"
    recording_status_callback: str | None = None
    recording_status_callback_method: Method = "POST"
    recording_status_callback_event: tuple[str, ...] = ("completed",)
    transcribe: bool = False
    transcribe_callback: str | None = None


# --- Dial and its nouns ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    number: str = body_field(required=True)
    send_digits: str | None = None
    url: str | None = None
    method: Method = "POST"
    status_callback: str | None = None
    status_callback_event: tuple[str, ...] = ("completed",)
    status_callback_method: Method = "POST"


@dataclass(frozen=True)
class Sip:
    uri: str = body_field(required=True)
    username: str | None = None
    password: str | None = None
    url: str | None = None
    method: Method = "POST"
    status_callback: str | None = None
    status_callback_event: tuple[str, ...] = ("completed",)
    status_callback_method: Method = "POST"


@dataclass(frozen=True)
class Client:
    """A client-SDK identity; with parameters, the identity is written as an `<Identity>` child."""

    identity: str = body_field(required=True, tag="Identity")
    url: str | None = None
    method: Method = "POST"
    status_callback: str | None = None
    status_callback_event: tuple[str, ...] = ("completed",)
    status_callback_method: Method = "POST"
    parameters: tuple[Parameter, ...] = children_field()


@dataclass(frozen=True)
class Conference:
    """A named room, scoped per account; `wait_url=None` is default hold music, `""` is silence."""

    name: str = body_field(required=True)
    muted: bool = False
    beep: Literal["true", "false", "onEnter", "onExit"] = "true"
    start_conference_on_enter: bool = True
    end_conference_on_exit: bool = False
    wait_url: str | None = None
    wait_method: Method = "POST"
    max_participants: int = 250
    record: Literal["do-not-record", "record-from-start"] = "do-not-record"
    trim: Trim = "trim-silence"
    coach: str | None = None
    status_callback: str | None = None
    status_callback_event: tuple[str, ...] = ()
    status_callback_method: Method = "POST"
    recording_status_callback: str | None = None
    recording_status_callback_method: Method = "POST"
    recording_status_callback_event: tuple[str, ...] = ("completed",)
    participant_label: str | None = None


@dataclass(frozen=True)
class Queue:
    """The agent side of a queue: bridge to the caller at its head; `url` runs on that caller."""

    name: str = body_field(required=True)
    url: str | None = None
    method: Method = "POST"
    reservation_sid: str | None = None
    post_work_activity_sid: str | None = None


DialNoun = Number | Sip | Client | Conference | Queue


@dataclass(frozen=True)
class Dial:
    """Bridge to the nouns (parallel unless `sequential`); a plain-text body is parsed as one `Number`."""

    children: tuple[DialNoun, ...] = children_field()
    action: str | None = None
    method: Method = "POST"
    timeout: int = 30
    hangup_on_star: bool = False
    time_limit: int = 14400
    caller_id: str | None = None
    record: DialRecord = "do-not-record"
    trim: Trim = "trim-silence"
    recording_status_callback: str | None = None
    recording_status_callback_method: Method = "POST"
    recording_status_callback_event: tuple[str, ...] = ("completed",)
    recording_track: Literal["both", "inbound", "outbound"] = "both"
    answer_on_bridge: bool = False
    ring_tone: str | None = None
    sequential: bool = False


# --- Queues, messaging from voice, media ----------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """The TaskRouter task an `<Enqueue workflowSid>` creates: its attributes, a JSON object as
    written (empty means `{}`), and what overrides the workflow's priority and the task's timeout."""

    attributes: str = body_field()
    priority: int | None = None
    timeout: int | None = None


@dataclass(frozen=True)
class Enqueue:
    """Wait in the queue `name`; with `workflow_sid`, as a TaskRouter task (`task`), and then the
    name is optional."""

    name: str = body_field()
    action: str | None = None
    method: Method = "POST"
    wait_url: str | None = None
    wait_url_method: Method = "POST"
    max_queue_size: int | None = None
    workflow_sid: str | None = None
    task: Task | None = child_field()


@dataclass(frozen=True)
class Sms:
    """Deprecated voice verb that sends a text message during a call."""

    body: str = body_field(required=True)
    to: str | None = None
    from_: str | None = None
    action: str | None = None
    method: Method = "POST"
    status_callback: str | None = None


@dataclass(frozen=True)
class Start:
    """Fork media asynchronously; execution continues at once."""

    children: tuple[Stream, ...] = children_field()
    action: str | None = None
    method: Method = "POST"


@dataclass(frozen=True)
class Stop:
    """End forks started earlier, selected by the Stream's `name` (or `url`)."""

    children: tuple[Stream, ...] = children_field()


@dataclass(frozen=True)
class Connect:
    """Bridge the call to a bidirectional Stream (or a ConversationRelay) until it ends, then go to
    `action` or the next verb."""

    children: tuple[Stream | ConversationRelay, ...] = children_field()
    action: str | None = None
    method: Method = "POST"


VoiceVerb = (
    Say
    | Play
    | Pause
    | Gather
    | Record
    | Hangup
    | Reject
    | Redirect
    | Dial
    | Sms
    | Enqueue
    | Leave
    | Start
    | Stop
    | Connect
)


@dataclass(frozen=True)
class Response:
    """A voice TwiML document: its verbs run in order."""

    verbs: tuple[VoiceVerb, ...] = children_field()

    @classmethod
    def of(cls, *verbs: VoiceVerb) -> "Response":
        return cls(verbs)


# --- Messaging ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """A reply; `from_=None` replies from the number that received the message, to its sender.

    With media, the body is written as a `<Body>` child followed by one `<Media>` per URL (at most 10).
    """

    body: str = body_field(tag="Body")
    media: tuple[str, ...] = children_field(tag="Media")
    to: str | None = None
    from_: str | None = None
    action: str | None = None
    method: Method = "POST"
    status_callback: str | None = None


MessagingVerb = Message | Redirect


@dataclass(frozen=True)
class MessagingResponse:
    """A messaging TwiML document; an empty one means "no reply"."""

    verbs: tuple[MessagingVerb, ...] = children_field()

    @classmethod
    def of(cls, *verbs: MessagingVerb) -> "MessagingResponse":
        return cls(verbs)
