"""A speech-to-speech agent as a Media Streams app: the call's stream (`<Connect><Stream>`) bridged to
the agent's model (a bridge of ai/speech_to_speech/: OpenAI Realtime, Deepgram Voice Agent, Gemini
Live), with the built-in agents' tools, records
and hand-off.

The model hears and speaks itself, so the platform keeps what it cannot leave to the model: the tools
run under the call's tenant (`CallTools`), the transcripts the model reports become the conversation's
turns (redacted when the agent says so), the caller pressing 0 or asking for a person is handed over
without the model's help (with no hand-off route, the model answers a request for a person as its
instructions say, and a 0 hears what the agent can do instead), and a model that cannot be reached,
or whose socket drops mid-call, ends the session as failed, which the `<Connect action>` turns into an
apology and a hand-off (ai/handoff.py): never dead air. A session that ends lets the caller hear what
is queued first (a Media Streams `mark` echoed once it has played), leaves its outcome for the action
(ai/stream_outcomes.py) and closes the stream, which is the call's cue to fetch the action.
"""

import asyncio
import base64
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from websockets.asyncio.client import ClientConnection

from ai.runtime import (
    HANDOFF_WORDS,
    PERSON_REQUEST,
    Record,
    ToolResult,
    TurnRecord,
    handoff_data,
    no_person_words,
)
from ai.sessions import RealtimeProvider, SessionStart
from ai.speech.base import SpeechError
from ai.speech.espeak import EspeakTextToSpeech, warm
from ai.speech_to_speech.base import Bridge, Role
from ai.stream_outcomes import StreamOutcome, stream_outcome_put
from ai.tools import CallTools
from core.timeouts import within
from streams.bridge.app_socket import AppUnreachable, connect_app
from streams.bridge.codec import slin_to_ulaw

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0
END_MARK = "agent-end"
PLAYOUT_WAIT_S = 30.0  # the longest the model's last words are waited for before the stream closes

Send = Callable[[dict[str, Any]], Awaitable[None]]
Close = Callable[[], Awaitable[None]]


class StreamAgent:
    """One call's session. `begin` with the stream's `start`, `from_caller` for every later message,
    `close` when the stream's socket has gone."""

    def __init__(self, start: SessionStart, *, send: Send, close_stream: Close, record: Record) -> None:
        assert start.realtime is not None
        self.start = start
        self.provider: RealtimeProvider = start.realtime
        self.send = send
        self.close_stream = close_stream
        self.record = record
        self.tools = CallTools(start.context)
        self.transcript: list[dict[str, str]] = []  # {"role": "caller" | "agent", "text"}
        self.handoff: dict[str, Any] | None = None
        self.is_ending = False
        self.stream_sid = ""
        self._turn: TurnRecord | None = None
        self._played = asyncio.Event()
        self._bridge: Bridge | None = None
        self._socket: ClientConnection | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def begin(self, start_message: dict[str, Any]) -> None:
        self.stream_sid = str(start_message.get("streamSid", ""))
        warm()  # espeak-ng's workers, for the hand-off words: a cold one would hold them up 0.1-1 s
        try:
            socket = await connect_app(
                self.provider.url, timeout=CONNECT_TIMEOUT_S, headers=self.provider.headers
            )
        except AppUnreachable as unreachable:
            await self._failed(f"the speech-to-speech model could not be reached: {unreachable}")
            return
        self._socket = socket
        self._bridge = self.provider.bridge(
            socket, agent=self.provider.agent, tools=self, send_to_caller=self._from_model, listener=self
        )
        self._spawn(self._converse(self._bridge))
        await self._bridge.from_caller(start_message)

    async def _converse(self, bridge: Bridge) -> None:
        await bridge.run()
        if not self.is_ending:  # the model's socket closed under a live call
            await self._failed("the speech-to-speech model's connection ended")

    async def _from_model(self, message: dict[str, Any]) -> None:
        """The model's audio and barge-in to the caller, until the session ends: then what the caller
        hears is the platform's."""
        if not self.is_ending:
            await self.send(message)

    async def from_caller(self, message: dict[str, Any]) -> None:
        event = message.get("event")
        if event == "mark" and (message.get("mark") or {}).get("name") == END_MARK:
            self._played.set()
        elif event == "dtmf" and (message.get("dtmf") or {}).get("digit") == "0":
            if self.start.profile.can_hand_off:
                await self._hand_off("caller pressed 0", words=HANDOFF_WORDS)
            elif not self.is_ending:  # the model hears no keys: the platform says what it can do
                self._spawn(self._say(no_person_words(self.start.profile.tools)))
        elif self._bridge is not None and not self.is_ending:
            await self._bridge.from_caller(message)

    # The bridge's tool runner: the session's own tools end it, the rest run under the call's tenant.

    async def run(self, name: str, arguments: dict[str, Any]) -> ToolResult:
        if self.is_ending:  # the call has left the agent: nothing more runs for it
            return ToolResult(json.dumps({"error": "the call has ended"}), is_error=True, ends_session=True)
        if name == "transfer_to_human":
            summary = str(arguments.get("summary", ""))[:1000]
            queue = str(arguments.get("queue") or "")
            await self._hand_off("agent transferred the caller", summary=summary, queue=queue)
            return ToolResult(json.dumps({"transferred": True}), ends_session=True)
        if name == "end_call":
            self._current().tool_calls.append({"name": name, "arguments": {}, "result": "ended"})
            await self._end({"reasonCode": "end-call"})
            return ToolResult(json.dumps({"ended": True}), ends_session=True)
        result = await self.tools.run(name, arguments)
        self._current().tool_calls.append(
            {
                "name": name,
                "arguments": arguments,
                "result": self.start.redact(result.content),
                "refused": result.is_error,
            }
        )
        return result

    # Records.

    def _current(self) -> TurnRecord:
        if self._turn is None:
            self._turn = TurnRecord(caller_text="")
        return self._turn

    async def _flush(self) -> None:
        turn, self._turn = self._turn, None
        if turn is not None and (turn.caller_text or turn.agent_text or turn.tool_calls):
            await self.record(turn)

    # The bridge's listener: what the model reports heard and said becomes the call's records.

    async def heard(self, role: Role, text: str) -> None:
        words = self.start.redact(text)
        if not words:
            return
        self.transcript.append({"role": role, "text": words})
        turn = self._current()
        if role == "agent":
            turn.mark("reply_ms")
            turn.agent_text = f"{turn.agent_text} {words}".strip()
            return
        turn.caller_text = f"{turn.caller_text} {words}".strip()
        if self.start.profile.can_hand_off and PERSON_REQUEST.search(words.lower()):
            await self._hand_off("caller asked for a person", words=HANDOFF_WORDS)

    async def turn_done(self) -> None:
        await self._flush()

    # Endings.

    async def _hand_off(
        self, reason: str, *, summary: str = "", queue: str = "", error: str = "", words: str = ""
    ) -> None:
        """Hand the caller to a person. `words`: the platform tells the caller itself (the model was
        not the one to decide, so it may be saying anything): its playout is cleared for them."""
        if self.is_ending:
            return
        data = handoff_data(
            reason,
            queue=queue or self.start.profile.handoff_queue,
            summary=summary,
            transcript=self.transcript,
        )
        self._current().tool_calls.append(
            {"name": "transfer_to_human", "arguments": {"summary": data["summary"]}, "result": reason}
        )
        await self._end(data, error=error, words=words)

    async def _failed(self, reason: str) -> None:
        logger.warning("agent %s: %s", self.start.profile.agent_sid, reason)
        await self._hand_off(reason, error=reason)

    async def _end(self, handoff: dict[str, Any], *, error: str = "", words: str = "") -> None:
        """Leave the outcome for the action (failed when `error`: the caller is told), then close the
        stream once the caller has heard what is queued."""
        self.is_ending = True
        self.handoff = handoff
        await self._flush()
        outcome = StreamOutcome(
            status="failed" if error else "completed", handoff_data=json.dumps(handoff), error=error
        )
        await sync_to_async(stream_outcome_put)(
            self.start.context.account_sid, self.start.context.call_sid, outcome
        )
        self._spawn(self._close_after_playout(words))

    async def _say(self, words: str) -> None:
        """`words` in the platform's offline voice, in place of whatever the caller was hearing."""
        await self.send({"event": "clear", "streamSid": self.stream_sid})
        try:
            async for slin in EspeakTextToSpeech().synthesize(
                words, voice="", language=self.provider.agent.language
            ):
                payload = base64.b64encode(slin_to_ulaw(slin)).decode()
                await self.send(
                    {"event": "media", "streamSid": self.stream_sid, "media": {"payload": payload}}
                )
        except SpeechError as failed:  # the action's TwiML still hands the caller over
            logger.warning(
                "agent %s: the hand-off words were not spoken: %s", self.start.profile.agent_sid, failed
            )
        self.transcript.append({"role": "agent", "text": words})

    async def _close_after_playout(self, words: str) -> None:
        if words:
            await self._say(words)
        await self.send({"event": "mark", "streamSid": self.stream_sid, "mark": {"name": END_MARK}})
        try:
            await within(self._played.wait(), PLAYOUT_WAIT_S)
        except TimeoutError:
            logger.warning("agent %s: the last words did not play in time", self.start.profile.agent_sid)
        await self._close_model()
        await self.close_stream()

    async def _close_model(self) -> None:
        if self._socket is not None:
            await self._socket.close()

    async def close(self) -> None:
        """The stream has gone (the caller hung up, or the session closed it): nothing more to hear."""
        self.is_ending = True
        await self._close_model()
        for task in list(self._tasks):
            if not task.done():
                task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)
        await self._flush()
