"""The guard between an agent's runtime and its brain: the caller never waits on silence.

A model endpoint fails in ways the runtime must not see one by one: down, answering an error,
breaking its stream mid-reply, or simply slow. `Guarded` wraps any Brain so that each of these is a
BrainError with a reason (the runtime's cue to tell the caller and hand them to a person), and so that
a slow first token is covered: past `first_token_s` the caller hears a filler phrase, once, and past
`give_up_s` with still nothing the reply fails. A tool call the model got wrong (malformed arguments, a
tool the agent does not have) is not a brain failure: base.py leaves it to the runtime to refuse, with
`tool_call_arguments` saying why, in words the model reads in the tool's answer and can correct.
"""

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from ai import tool_arguments
from ai.brains.base import Brain, BrainError, Reply, TextDelta, ToolCall, ToolSpec, Turn

FIRST_TOKEN_S = 2.0  # the issue's: a caller hears nothing for longer only with a filler said
GIVE_UP_S = 6.0  # from the turn's start, with the filler said: then the hand-off
STALL_S = 10.0  # between two replies of a stream that has started
FILLER = "One moment, please. "


@dataclass(frozen=True)
class Filler(TextDelta):
    """Said by the guard, not by the model: spoken to the caller, and kept out of the model's history."""


async def _next(replies: AsyncIterator[Reply]) -> Reply:
    return await anext(replies)


@dataclass(frozen=True)
class Guarded:
    brain: Brain
    first_token_s: float = FIRST_TOKEN_S
    give_up_s: float = GIVE_UP_S
    stall_s: float = STALL_S
    filler: str = FILLER

    async def respond(self, turns: Sequence[Turn], tools: Sequence[ToolSpec]) -> AsyncIterator[Reply]:
        """The brain's replies; BrainError for any failure of it, whatever the brain raised."""
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self.give_up_s
        replies = aiter(self.brain.respond(turns, tools))
        pending: asyncio.Task[Reply] | None = None
        started = False
        try:
            while True:
                pending = asyncio.ensure_future(_next(replies))
                if started:
                    await asyncio.wait([pending], timeout=self.stall_s)
                    if not pending.done():
                        raise BrainError(f"the reply stalled for {self.stall_s:g} s")
                else:
                    await asyncio.wait([pending], timeout=self.first_token_s)
                    if not pending.done():
                        yield Filler(self.filler)
                        await asyncio.wait([pending], timeout=max(0.0, give_up_at - loop.time()))
                    if not pending.done():
                        raise BrainError(f"no answer within {self.give_up_s:g} s")
                try:
                    reply = pending.result()
                except StopAsyncIteration:
                    return
                except BrainError:
                    raise
                except Exception as exc:  # a brain's bug is still a failed reply, not a failed call
                    raise BrainError(f"the brain failed: {type(exc).__name__}") from exc
                started = True
                yield reply
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
                with suppress(BaseException):
                    await pending
            aclose = getattr(replies, "aclose", None)
            if aclose is not None:
                with suppress(Exception):
                    await aclose()


def tool_call_arguments(call: ToolCall, tools: Sequence[ToolSpec]) -> dict[str, Any]:
    """The arguments of `call` as an object, when the runtime may run it; `tool_arguments.Refused`
    otherwise, its reason for the model to read in the tool's answer.

    Only the agent's own tools are offered, so a call to any other (prompt injection asking for a tool
    the agent lacks, or a model's invention) is refused here whatever its name suggests.
    """
    spec = next((t for t in tools if t.name == call.name), None)
    if spec is None:
        offered = ", ".join(t.name for t in tools) or "none"
        raise tool_arguments.Refused(f"there is no tool named {call.name[:64]!r}; the tools are: {offered}")
    return tool_arguments.parsed(call.arguments, spec.parameters)
