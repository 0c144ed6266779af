"""The portal's test console: a person types as the caller and sees what the agent says and which
tools it calls, through the same runtime and brain as a call, with tools that change nothing
(ai/tools.ConsoleTools). The exchange so far is the console's (kept in the portal session)."""

import json
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import async_to_sync

from ai.brains.base import Turn
from ai.models import Agent
from ai.runtime import AgentSession, TurnRecord
from ai.sessions import agent_brain, agent_profile, agent_redactor
from ai.tools import ConsoleTools, tool_specs

MAX_CONSOLE_LINES = 40


@dataclass
class ConsoleLine:
    role: str  # "caller", "agent" or "tool"
    text: str


@dataclass
class ConsoleReply:
    lines: list[ConsoleLine] = field(default_factory=list)
    has_ended: bool = False


def console_say(*, agent: Agent, history: list[dict[str, str]], text: str) -> ConsoleReply:
    """Run one caller turn against `agent`, after `history` (earlier console lines); returns the new
    lines: the caller's, the agent's reply, each tool call, and the hand-off if the session ended."""
    records: list[TurnRecord] = []
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def record(turn: TurnRecord) -> None:
        records.append(turn)

    profile = agent_profile(agent)
    session = AgentSession(
        profile=profile,
        brain=agent_brain(agent),
        tool_specs=tool_specs(builtin=profile.tools, webhook=profile.webhook_tools),
        tools=ConsoleTools(),
        send=send,
        record=record,
        redact=agent_redactor(agent),
    )
    for line in history[-MAX_CONSOLE_LINES:]:
        if line["role"] in ("caller", "agent"):
            session.transcript.append({"role": line["role"], "text": line["text"]})
            session.turns.append(
                Turn(role="user" if line["role"] == "caller" else "assistant", content=line["text"])
            )

    async def run() -> None:
        await session.handle({"type": "prompt", "voicePrompt": text, "last": True})
        await session.wait()

    async_to_sync(run)()
    reply = ConsoleReply(lines=[ConsoleLine("caller", text)], has_ended=session.has_ended)
    for turn in records:
        for call in turn.tool_calls:
            shown = json.dumps(call.get("arguments", {}))
            reply.lines.append(ConsoleLine("tool", f"{call['name']}({shown}) → {call.get('result', '')}"))
    said = "".join(m["token"] for m in sent if m["type"] == "text")
    if said:
        reply.lines.append(ConsoleLine("agent", said))
    if session.handoff is not None:
        reply.lines.append(ConsoleLine("tool", f"end: {json.dumps(session.handoff)}"))
    return reply
