"""What the ARI worker and the speech relay tell each other about a ConversationRelay session.

A session rides a bidirectional Media Stream from the call to the relay (its URL is the setting
SPEECH_RELAY_URL). Before the stream starts, the worker writes the session under
`session_key(stream_sid)`: the relay, taking the bridge's `start`, reads it there, so only a stream
the platform opened can become a session (anyone may connect to the relay; nobody else can write
Redis). When the session ends the relay writes its `Outcome` under `outcome_key(stream_sid)` before
it closes the stream's websocket, so the worker, whose `<Connect>` ends with that socket, finds it.
The account's auth token never leaves the worker: it signs the app's URL and passes the signature.
"""

from typing import Literal, TypedDict

SESSION_TTL_SECONDS = 120  # read once, as the stream starts
OUTCOME_TTL_SECONDS = 120  # read once, as the <Connect> ends

Interruptible = Literal["none", "dtmf", "speech", "any"]
Status = Literal["completed", "ended", "failed"]


def session_key(stream_sid: str) -> str:
    return f"ai:relay:session:{stream_sid}"


def outcome_key(stream_sid: str) -> str:
    return f"ai:relay:outcome:{stream_sid}"


class Voice(TypedDict):
    """A language's speech settings; empty strings mean the offline defaults."""

    code: str  # BCP-47
    tts_provider: str
    voice: str
    transcription_provider: str
    speech_model: str
    hints: list[str]


class Session(TypedDict):
    session_id: str  # VX…
    url: str  # the app's ws:// or wss:// URL, already checked against the destination policy
    signature: str  # X-Twilio-Signature of the upgrade to `url`
    setup: dict[str, object]  # the `setup` message's fields but `type`
    tts: Voice  # the voice it speaks with (ttsLanguage, ttsProvider, voice)
    transcription: Voice  # what it hears with (transcriptionLanguage, transcriptionProvider, hints)
    languages: list[Voice]  # <Language>s, for the app's `language` message
    welcome_greeting: str
    welcome_greeting_interruptible: Interruptible
    interruptible: Interruptible
    report_input_during_agent_speech: Interruptible
    dtmf_detection: bool
    partial_prompts: bool
    preemptible: bool


class Outcome(TypedDict):
    status: Status  # completed: the app sent `end`; ended: it closed its socket; failed
    handoff_data: str | None  # the `end` message's handoffData, as sent
    duration_s: int
    error_code: int  # 0 unless failed
    error_message: str


RELAY_FAILED = "The speech relay failed; see its log"


def failure(code: int, message: str, *, duration_s: int = 0) -> Outcome:
    """A session that could not run or go on (`code` is Twilio's, for the error log)."""
    return Outcome(
        status="failed", handoff_data=None, duration_s=duration_s, error_code=int(code), error_message=message
    )
