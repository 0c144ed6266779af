"""`<Connect><ConversationRelay>` on an in-memory call (tests/voice/memory.py) with the real database
and Redis: the stream to the speech relay, the session record the relay reads, and where the
document goes when the session ends (the relay's outcome, played here by the call's control)."""

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ai.relay import contract
from core import egress, webhooks
from core.error_codes import ErrorCode
from core.tenancy import tenant_scope
from core.throttling import redis_client
from streams import bridges
from streams.models import Stream
from tests.voice.memory import MemoryControl, MemoryStore, call_in_progress, run_stored_call
from tests.voice.twiml_app import TwimlApp
from twiml.errors import Code
from voice.control import MediaLeg
from voice.models import Call

APP = "wss://agent.example.com/relay"


@pytest.fixture(autouse=True)
def _committed(
    monkeypatch: pytest.MonkeyPatch, django_db_setup: None, django_db_blocker: Any
) -> Iterator[None]:
    """Rows committed, as the worker's are (see tests/streams/test_stream_verbs.py)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with django_db_blocker.unblock():
        yield


@pytest.fixture(autouse=True)
def _public_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """agent.example.com stands for a public app: the policy sees a public address for it."""
    real = egress.resolve

    def resolve(host: str, port: int, *, is_platform: bool = False) -> list[str]:
        if host == "agent.example.com":
            return ["93.184.216.34"]
        return real(host, port, is_platform=is_platform)

    monkeypatch.setattr("core.egress.resolve", resolve)


@pytest.fixture
def call() -> Call:
    return call_in_progress("Relay")


class RelayControl(MemoryControl):
    """The call's control, where the speech relay's part is played: once connected, it reads the
    session the relay would (through the leg the bridge reads) and writes `outcome`."""

    def __init__(self, outcome: Callable[[contract.Session], contract.Outcome | None]) -> None:
        super().__init__()
        self.outcome = outcome
        self.sessions: list[contract.Session] = []

    async def media_connect(self, leg: MediaLeg, *, on_digit: Callable[[str], Awaitable[None]]) -> None:
        await super().media_connect(leg, on_digit=on_digit)
        stream_leg = json.loads(bridges._redis().get(f"streams:leg:{leg.connection_id}") or b"{}")
        raw = redis_client().get(contract.session_key(stream_leg["stream_sid"]))
        session: contract.Session = json.loads(raw)
        self.sessions.append(session)
        if (outcome := self.outcome(session)) is not None:
            key = contract.outcome_key(stream_leg["stream_sid"])
            await asyncio.to_thread(redis_client().set, key, json.dumps(outcome))


def ended(status: contract.Status, handoff: str | None = None) -> Callable[..., contract.Outcome]:
    return lambda session: contract.Outcome(
        status=status, handoff_data=handoff, duration_s=3, error_code=0, error_message=""
    )


def run(
    app: TwimlApp, tmp_path: Path, call: Call, routes: dict[str, str], control: MemoryControl
) -> tuple[MemoryControl, MemoryStore]:
    return run_stored_call(app, tmp_path, call, routes, control, auth_token="secret-token")


def test_the_session_rides_a_stream_to_the_relay_and_the_action_gets_the_handoff(
    app: TwimlApp, tmp_path: Path, call: Call, announce: Callable[..., None], settings: Any
) -> None:
    announce("b1", 40002)
    settings.SPEECH_RELAY_URL = "ws://127.0.0.1:8765/relay"
    control = RelayControl(ended("completed", '{"reason": "human"}'))
    routes = {
        "/voice": (
            f"<Response><Connect action='/after'><ConversationRelay url='{APP}' welcomeGreeting='Hi there'"
            " ttsLanguage='en-GB' voice='en-gb' hints='Switchboard, clinic' dtmfDetection='true'"
            " interruptible='speech'><Language code='en-GB' ttsProvider='espeak'/>"
            "<Parameter name='customer' value='42'/></ConversationRelay></Connect>"
            "<Say>skipped</Say></Response>"
        ),
        "/after": "<Response><Hangup/></Response>",
    }
    control, store = run(app, tmp_path, call, routes, control)

    assert control.actions == ["answer", "connect", "hangup"]
    with tenant_scope(call.account_id):
        (stream,) = Stream.objects.filter(call=call)
    assert (stream.url, stream.is_bidirectional) == (settings.SPEECH_RELAY_URL, True)
    assert stream.status == "stopped"
    (session,) = control.sessions
    assert session["url"] == APP and session["session_id"].startswith("VX")
    assert session["signature"] == webhooks.signature(APP, {}, "secret-token")
    assert session["setup"] == {
        "sessionId": session["session_id"],
        "accountSid": "AC" + call.account_id.hex,
        "parentCallSid": "",
        "callSid": call.sid,
        "from": "+14155550100",
        "to": "+12025550100",
        "forwardedFrom": "",
        "callType": "PSTN",
        "callerName": "",
        "direction": "inbound",
        "callStatus": "IN-PROGRESS",
        "customParameters": {"customer": "42"},
    }
    assert session["tts"] == {
        "code": "en-GB",
        "tts_provider": "espeak",
        "voice": "en-gb",
        "transcription_provider": "",
        "speech_model": "",
        "hints": ["Switchboard", "clinic"],
    }
    assert session["transcription"]["code"] == "en-US"
    assert (session["welcome_greeting"], session["interruptible"], session["dtmf_detection"]) == (
        "Hi there",
        "speech",
        True,
    )
    (after,) = app.requests_to("/after")
    assert after.form["SessionId"] == session["session_id"]
    assert after.form["SessionStatus"] == "completed" and after.form["SessionDuration"] == "3"
    assert after.form["HandoffData"] == '{"reason": "human"}'
    assert after.form["CallSid"] == call.sid
    assert store.errors == []


def test_without_action_the_document_goes_on_and_no_outcome_is_a_failure_logged(
    app: TwimlApp, tmp_path: Path, call: Call, announce: Callable[..., None]
) -> None:
    """Providers the platform cannot use are warned and the defaults speak and listen instead."""
    announce("b1", 40002)
    control = RelayControl(lambda session: None)  # the relay never said how the session ended
    noun = f"<ConversationRelay url='{APP}' ttsProvider='ElevenLabs' transcriptionProvider='Deepgram'/>"
    routes = {"/voice": f"<Response><Connect>{noun}</Connect><Say>on</Say></Response>"}
    control, store = run(app, tmp_path, call, routes, control)

    assert control.actions == ["answer", "connect", "play", "hangup"]
    assert [code for code, _ in store.errors] == [Code.SCHEMA, Code.SCHEMA, ErrorCode.INTERNAL_FAILURE]
    assert store.warnings == [Code.SCHEMA, Code.SCHEMA]
    assert "'ElevenLabs' is not configured" in store.errors[0][1]  # an adapter, without its key here
    assert "SWITCHBOARD_SPEECH_ELEVENLABS_API_KEY" in store.errors[0][1]
    assert "SWITCHBOARD_SPEECH_DEEPGRAM_API_KEY" in store.errors[1][1]
    (session,) = control.sessions
    assert (session["tts"]["tts_provider"], session["transcription"]["transcription_provider"]) == ("", "")


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("wss://agent.example.com/relay?token=1", ErrorCode.STREAM_HANDSHAKE_ERROR),
        ("ws://127.0.0.1:9000/app", ErrorCode.HTTP_CONNECTION_FAILURE),
    ],
)
def test_an_app_url_twilio_or_the_policy_refuses_is_logged_and_the_action_hears_failed(
    app: TwimlApp, tmp_path: Path, call: Call, settings: Any, url: str, code: int
) -> None:
    settings.EGRESS_ALLOW = ["127.0.0.2"]  # the TwiML app's address; 127.0.0.1 is refused
    control = RelayControl(ended("completed"))
    routes = {
        "/voice": f"<Response><Connect action='/after'><ConversationRelay url='{url}'/></Connect></Response>",
        "/after": "<Response><Hangup/></Response>",
    }
    control, store = run(app, tmp_path, call, routes, control)

    assert control.actions == ["answer", "hangup"]
    assert [c for c, _ in store.errors] == [code]
    (after,) = app.requests_to("/after")
    assert after.form["SessionStatus"] == "failed" and after.form["ErrorCode"] == str(code)


def test_the_platforms_own_agents_pass_the_policy(
    app: TwimlApp, tmp_path: Path, call: Call, announce: Callable[..., None], settings: Any
) -> None:
    settings.EGRESS_ALLOW = ["127.0.0.2"]  # the TwiML app's address; 127.0.0.1 is refused
    settings.AGENTS_WS_URL = "ws://127.0.0.1:8000/ws/agents/"
    settings.SPEECH_RELAY_URL = "ws://127.0.0.1:8765/relay"
    announce("b1", 40002)
    control = RelayControl(ended("ended"))
    agent = "ws://127.0.0.1:8000/ws/agents/AG0123"
    routes = {"/voice": f"<Response><Connect><ConversationRelay url='{agent}'/></Connect></Response>"}
    control, store = run(app, tmp_path, call, routes, control)

    assert [s["url"] for s in control.sessions] == [agent] and store.errors == []
    climbing = "ws://127.0.0.1:8000/ws/agents/../admin"
    routes = {"/voice": f"<Response><Connect><ConversationRelay url='{climbing}'/></Connect></Response>"}
    control, store = run(app, tmp_path, call, routes, RelayControl(ended("ended")))
    assert [c for c, _ in store.errors] == [ErrorCode.HTTP_CONNECTION_FAILURE]
