"""A built-in agent's side of one ConversationRelay session: the caller's prompts and keys in, text
tokens and `end` out, the brain asked for each reply, tools run, every exchange recorded.

Escalation never waits on the model: a caller asking for a person or pressing 0, `max_turns_without_
progress` replies in a row that repeat an earlier one, more tool rounds than allowed, and a brain that
fails or is too slow all tell the caller and end the session with Twilio's `live-agent-handoff`
hand-off data, which the agent's `<Connect action>` turns into `<Enqueue>` (ai/handoff.py). An agent
with no hand-off route promises nobody: a caller asking for a person hears what it can do instead,
and the other escalations end the call with an apology. The
runtime holds no database connection: loading the agent, tools with effects and records are the
caller's callables, so the same session runs under the websocket consumer and the portal's console.
"""

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ai.brains.base import Brain, BrainError, TextDelta, ToolCall, ToolSpec, Turn
from core.timeouts import within

logger = logging.getLogger(__name__)

SESSION_TOOLS = ("transfer_to_human", "end_call")  # the runtime's own: they end the session
PERSON_REQUEST = re.compile(
    r"\b(talk|speak|put me through|connect me|transfer me)\b.*\b(person|human|agent|representative|someone|"
    r"operator|receptionist|somebody)\b|\b(real person|a human|representative|operator)\b"
)
# Words of a tenant's own (an agent's greeting) that offer the caller a person.
PERSON_OFFER = re.compile(
    r"\b(connect|transfer|put) you\b|\b(speak|talk) (to|with) (a|an|one of|our|someone|somebody)\b|"
    r"\b(a|real) (person|human)\b|\brepresentative\b|\boperator\b|\bpress 0\b",
    re.IGNORECASE,
)
# What callers say to the agent's own intents, offered to the speech recogniser as hints with the FAQ.
HINT_PHRASES = ("talk to a person", "speak to a person", "a human", "representative", "operator", "text me")
TURN_TIMEOUT_SECONDS = 10.0  # a whole reply; the LLM brain's guard has its own first-token deadline
MAX_PROMPT_CHARS = 2000  # a monologue beyond this reaches the brain cut short
SILENCE_SECONDS = 12.0  # a caller silent this long after the agent's words have played is asked once
SPOKEN_CHARS_PER_SECOND = 14.0  # about espeak-ng's pace: when the agent's words end, from their length
STILL_THERE_WORDS = "Are you still there?"
HANDOFF_TURNS = 20  # the transcript carried to the person: this many latest turns
HANDOFF_TURN_CHARS = 500
HANDOFF_WORDS = "Let me connect you with a person from our team. Please hold."
TROUBLE_WORDS = "Sorry, I am having trouble answering just now."
GOODBYE_WORDS = "Thank you for calling. Goodbye."
NOBODY_WORDS = "Nobody from our team can take calls just now."
MESSAGE_WORDS = "Tell me what you need and I will leave it for the team as a message."
TEXT_OFFER_WORDS = "I can also text you, so you can write to us."
GIVE_UP_WORDS = "Sorry I could not help. Please call again later. Goodbye."
NO_PERSON_NOTE = (
    "No person can take this call: never offer to transfer the caller or promise that someone will "
    "call back. When they ask for a person, say so and offer what you can do instead: answer, take a "
    "message, or text them if you have that tool."
)


@dataclass(frozen=True)
class AgentProfile:
    """What a session needs of its agent, read once when the session starts."""

    account_id: uuid.UUID
    agent_sid: str
    instructions: str
    tools: tuple[str, ...]
    webhook_tools: tuple[ToolSpec, ...] = ()
    handoff_queue: str = ""
    can_hand_off: bool = False  # a hand-off route (workflow or queue) is configured
    max_turns_without_progress: int = 3
    max_tool_rounds: int = 3
    greeting: str = ""  # what the caller hears first (the relay speaks it), for when to listen from


@dataclass(frozen=True)
class ToolResult:
    """A tool's answer to the brain (JSON text) and what the records keep of it."""

    content: str
    is_error: bool = False
    ends_session: bool = False  # the call leaves the agent (a speech-to-speech session's own tools)


@dataclass
class TurnRecord:
    """One exchange, as the conversation timeline keeps it (conversations.AgentTurn); timings are
    milliseconds since the caller's prompt reached the agent."""

    caller_text: str
    agent_text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, int] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic, repr=False)

    def mark(self, name: str) -> None:
        """Note when `name` happened, the first time it does."""
        self.timings.setdefault(name, round((time.monotonic() - self.started) * 1000))


class ToolRunner(Protocol):
    """Runs the tools with effects (send_text, lookup_history, a tenant's webhook tools) under the
    session's tenant; never raises for a tool's failure, returning an error result instead."""

    async def run(self, name: str, arguments: dict[str, Any]) -> ToolResult: ...


Send = Callable[[dict[str, Any]], Awaitable[None]]
Record = Callable[[TurnRecord], Awaitable[None]]


def _error(message: str) -> ToolResult:
    return ToolResult(json.dumps({"error": message}), is_error=True)


def _arguments(call: ToolCall) -> dict[str, Any] | None:
    try:
        parsed = json.loads(call.arguments or "{}")
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def no_person_words(tools: Sequence[str]) -> str:
    """What a caller asking for a person hears from an agent with nobody to hand them to."""
    offer = f" {TEXT_OFFER_WORDS}" if "send_text" in tools else ""
    return f"{NOBODY_WORDS} {MESSAGE_WORDS}{offer}"


def handoff_data(
    reason: str, *, queue: str, summary: str, transcript: list[dict[str, str]]
) -> dict[str, Any]:
    """Twilio's `live-agent-handoff` hand-off data: what the person taking the call is shown."""
    said = [entry["text"] for entry in transcript if entry["role"] == "caller"]
    last = f' Last said: "{said[-1][:200]}".' if said else ""
    return {
        "reasonCode": "live-agent-handoff",
        "reason": reason,
        "queue": queue,
        "summary": summary
        or f"Handed over by the AI agent ({reason}). The caller spoke {len(said)} time(s).{last}",
        "transcript": [
            {"role": entry["role"], "text": entry["text"][:HANDOFF_TURN_CHARS]}
            for entry in transcript[-HANDOFF_TURNS:]
        ],
    }


class AgentSession:
    """One call's conversation with the agent. `handle` takes each ConversationRelay message after
    `setup`; replies run as a task, so an `interrupt` can cut one short."""

    def __init__(
        self,
        *,
        profile: AgentProfile,
        brain: Brain,
        tool_specs: Sequence[ToolSpec],
        tools: ToolRunner,
        send: Send,
        record: Record,
        redact: Callable[[str], str] = lambda text: text,
        turn_timeout: float = TURN_TIMEOUT_SECONDS,
        silence_seconds: float = SILENCE_SECONDS,
    ) -> None:
        self.profile = profile
        self.brain = brain
        self.tool_specs = tuple(tool_specs)
        self.tools = tools
        self.send = send
        self.record = record
        self.redact = redact
        self.turn_timeout = turn_timeout
        self.silence_seconds = silence_seconds
        self.turns: list[Turn] = [Turn(role="system", content=profile.instructions)]
        self.transcript: list[dict[str, str]] = []  # {"role": "caller" | "agent", "text"}
        self.handoff: dict[str, Any] | None = None  # set once the session has ended with `end`
        self._partial = ""
        self._reply: asyncio.Task[None] | None = None
        self._replies: list[str] = []
        self._stalled = 0
        self._quiet: asyncio.TimerHandle | None = None  # the caller's silence, timed (`listen`)
        self._is_listening = False  # a call's session, not the portal's typed test console
        self._asked_still_there = False

    @property
    def has_ended(self) -> bool:
        return self.handoff is not None

    def listen(self, words: str = "") -> None:
        """Time the caller's silence from when the agent's `words` will have played: past
        `silence_seconds` the caller is asked whether they are still there, and after a second
        silence the call ends. Never dead air, and never a line held open for nobody. From the
        first call on, the session listens again after each reply (the portal's typed test console
        never calls it: a tester's pause is no caller's silence)."""
        self._hush()
        self._is_listening = True
        if not self.has_ended:
            delay = self.silence_seconds + len(words) / SPOKEN_CHARS_PER_SECOND
            self._quiet = asyncio.get_running_loop().call_later(delay, self._start, self._silent)

    def _hush(self) -> None:
        if self._quiet is not None:
            self._quiet.cancel()
            self._quiet = None

    async def _silent(self) -> None:
        record = TurnRecord(caller_text="(silence)")
        if self._asked_still_there:
            await self._end(
                record, {"reasonCode": "end-call", "reason": "caller silent"}, words=GOODBYE_WORDS
            )
            return
        self._asked_still_there = True
        await self._say(record, STILL_THERE_WORDS)

    async def handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if self.has_ended:
            return
        if kind in ("prompt", "dtmf", "interrupt"):  # the caller is there
            self._hush()
            self._asked_still_there = False
        if kind == "prompt":
            self._partial += str(message.get("voicePrompt", ""))
            if message.get("last", True):
                text, self._partial = self._partial.strip(), ""
                if text:
                    self._start(lambda: self._prompt(text))
        elif kind == "dtmf":
            digit = str(message.get("digit", ""))
            if digit == "0":
                pressed = TurnRecord(caller_text="(pressed 0)")
                self._start(lambda: self._asked_for_person(pressed, "caller pressed 0"))
            elif digit:
                self._start(lambda: self._prompt(f"(pressed {digit})"))
        elif kind == "interrupt":
            await self._interrupted(str(message.get("utteranceUntilInterrupt", "")))
            if self._is_listening:  # the caller's words are on their way as a prompt, unless a noise
                self.listen()
        elif kind == "error":
            logger.warning("relay reported an error to agent %s: %s", self.profile.agent_sid, message)

    async def wait(self) -> None:
        """Until the reply under way (if any) is done."""
        if self._reply is not None:
            await asyncio.wait([self._reply])

    async def wait_or_cancel(self) -> None:
        """The socket has gone: a reply under way is cut off (nobody is left to hear it)."""
        self._hush()
        if self._reply is not None and not self._reply.done():
            self._reply.cancel()
            await asyncio.wait([self._reply])

    def _start(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work` once the reply before it is done: prompts are answered in order."""
        previous = self._reply

        async def run() -> None:
            if previous is not None and not previous.done():
                await asyncio.wait([previous])
            await work()
            if self._is_listening and self._reply is asyncio.current_task():  # the last one queued
                last = self.transcript[-1] if self.transcript else {"role": "", "text": ""}
                self.listen(last["text"] if last["role"] == "agent" else "")

        self._reply = asyncio.ensure_future(run())

    async def _interrupted(self, heard: str) -> None:
        """The caller spoke over the agent: stop a reply still being written, and keep of the agent's
        words only what the caller heard (`utteranceUntilInterrupt`)."""
        if self._reply is not None and not self._reply.done():
            self._reply.cancel()
            await asyncio.wait([self._reply])
            if heard:
                self.transcript.append({"role": "agent", "text": heard})
                self.turns.append(Turn(role="assistant", content=heard))
            return
        if self.transcript and self.transcript[-1]["role"] == "agent":
            self.transcript[-1]["text"] = heard
        if self.turns and self.turns[-1].role == "assistant":
            self.turns[-1] = Turn(role="assistant", content=heard, tool_calls=self.turns[-1].tool_calls)

    async def _prompt(self, text: str) -> None:
        said = self.redact(text[:MAX_PROMPT_CHARS])
        record = TurnRecord(caller_text=said)
        self.transcript.append({"role": "caller", "text": said})
        self.turns.append(Turn(role="user", content=said))
        if PERSON_REQUEST.search(text.lower()):
            await self._asked_for_person(record, "caller asked for a person")
            return
        try:
            await self._answer(record)
        except asyncio.CancelledError:  # interrupted, or the socket went: the exchange is still kept
            record.mark("interrupted_ms")
            await self.record(record)
            raise

    async def _answer(self, record: TurnRecord) -> None:
        """Brain rounds until a reply without tool calls, a tool that ends the session, or a limit."""
        for _ in range(self.profile.max_tool_rounds + 1):
            try:
                text, calls = await within(self._round(record), self.turn_timeout)
            except (BrainError, TimeoutError) as exc:
                reason = str(exc) or "the brain took too long"
                await self._escalate(record, f"brain failed: {reason}", trouble=True)
                return
            self.turns.append(Turn(role="assistant", content=text, tool_calls=tuple(calls)))
            if not calls:
                await self._replied(record, text)
                return
            for call in calls:
                if await self._tool(record, call):
                    return
        await self._escalate(record, "too many tool rounds", trouble=True)

    async def _round(self, record: TurnRecord) -> tuple[str, list[ToolCall]]:
        parts: list[str] = []
        calls: list[ToolCall] = []
        async for reply in self.brain.respond(self.turns, self.tool_specs):
            if isinstance(reply, TextDelta):
                if reply.text:
                    record.mark("first_token_ms")
                    parts.append(reply.text)
                    await self.send({"type": "text", "token": reply.text, "last": False})
            else:
                calls.append(reply)
        text = "".join(parts)
        if text:
            await self.send({"type": "text", "token": "", "last": True})
            kept = self.redact(text)  # what the agent said may repeat what it was told
            self.transcript.append({"role": "agent", "text": kept})
            record.agent_text = f"{record.agent_text} {kept}".strip()
        return text, calls

    async def _replied(self, record: TurnRecord, text: str) -> None:
        """A plain reply: recorded; one that repeats an earlier reply (or says nothing) is no progress."""
        said = " ".join(text.lower().split())
        self._stalled = self._stalled + 1 if not said or said in self._replies else 0
        self._replies.append(said)
        if self._stalled >= self.profile.max_turns_without_progress:
            await self._escalate(record, f"{self._stalled} turns without progress")
            return
        record.mark("reply_ms")
        await self.record(record)

    def _offers(self, name: str) -> bool:
        return name in self.profile.tools or any(spec.name == name for spec in self.profile.webhook_tools)

    async def _tool(self, record: TurnRecord, call: ToolCall) -> bool:
        """Run one tool call the brain asked for; True when it ended the session. A tool the agent
        does not have, or arguments that are not a JSON object, are refused without running anything."""
        arguments = _arguments(call)
        if not self._offers(call.name):
            result = _error(f"unknown tool {call.name!r}")
        elif arguments is None:
            result = _error("arguments must be a JSON object")
        elif call.name == "transfer_to_human":
            summary = str(arguments.get("summary", ""))[:1000]
            await self._escalate(
                record, "agent transferred the caller", summary=summary, queue=arguments.get("queue")
            )
            return True
        elif call.name == "end_call":
            record.tool_calls.append({"name": call.name, "arguments": {}, "result": "ended"})
            await self._end(
                record, {"reasonCode": "end-call"}, words="" if record.agent_text else GOODBYE_WORDS
            )
            return True
        else:
            result = await self.tools.run(call.name, arguments)
        record.tool_calls.append(
            {
                "name": call.name,
                "arguments": arguments or {},
                "result": self.redact(result.content),
                "refused": result.is_error,
            }
        )
        self.turns.append(Turn(role="tool", content=result.content, tool_call_id=call.id))
        return False

    async def _asked_for_person(self, record: TurnRecord, reason: str) -> None:
        """Hand the caller over; with no route to people, say what the agent can do instead and go on."""
        if self.profile.can_hand_off:
            await self._escalate(record, reason)
            return
        await self._say(record, no_person_words(self.profile.tools))

    async def _say(self, record: TurnRecord, words: str) -> None:
        """The runtime's own words as the exchange's whole reply, kept in the history and recorded."""
        await self.send({"type": "text", "token": words, "last": True})
        self.transcript.append({"role": "agent", "text": words})
        self.turns.append(Turn(role="assistant", content=words))
        record.agent_text = words
        record.mark("reply_ms")
        await self.record(record)

    async def _escalate(
        self,
        record: TurnRecord,
        reason: str,
        *,
        summary: str = "",
        queue: object = None,
        trouble: bool = False,
    ) -> None:
        """Tell the caller and hand them to a person, with a summary and the transcript; with no route
        to people, apologise and end the call (the reason kept in the hand-off data, for the audit)."""
        if not self.profile.can_hand_off:
            record.tool_calls.append({"name": "end_call", "arguments": {}, "result": reason})
            words = f"{TROUBLE_WORDS} {GIVE_UP_WORDS}" if trouble else GIVE_UP_WORDS
            await self._end(record, {"reasonCode": "end-call", "reason": reason}, words=words)
            return
        handoff = handoff_data(
            reason,
            queue=str(queue or self.profile.handoff_queue),
            summary=summary,
            transcript=self.transcript,
        )
        record.tool_calls.append(
            {"name": "transfer_to_human", "arguments": {"summary": handoff["summary"]}, "result": reason}
        )
        words = f"{TROUBLE_WORDS} {HANDOFF_WORDS}" if trouble else HANDOFF_WORDS
        await self._end(record, handoff, words=words)

    async def _end(self, record: TurnRecord, handoff: dict[str, Any], *, words: str) -> None:
        self.handoff = handoff
        if words:
            await self.send({"type": "text", "token": words, "last": True})
            self.transcript.append({"role": "agent", "text": words})
            record.agent_text = f"{record.agent_text} {words}".strip()
        record.mark("reply_ms")
        await self.record(record)  # before `end`: the relay closes the socket on it
        await self.send({"type": "end", "handoffData": json.dumps(handoff)})
