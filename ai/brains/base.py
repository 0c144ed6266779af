"""The contract between a built-in agent's runtime and whatever decides its replies.

The runtime keeps the conversation as `Turn`s and offers the agent's tools as `ToolSpec`s (JSON
schema parameters, as OpenAI-compatible chat endpoints take them); a brain streams back text deltas
and tool calls. A tool call's arguments stay the raw text the model sent: the runtime validates them,
so a malformed or unknown call is the runtime's to refuse, never the brain's to guess.
"""

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol


class BrainError(Exception):
    """The brain could not answer: endpoint down, too slow, refused, or a broken stream."""


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments object


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text as sent by the model; may be malformed


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class Turn:
    role: Literal["system", "user", "assistant", "tool"]
    content: str
    tool_call_id: str | None = None  # for role "tool": the call it answers
    tool_calls: tuple[ToolCall, ...] = field(default=())  # for role "assistant"


Reply = TextDelta | ToolCall


class Brain(Protocol):
    def respond(self, turns: Sequence[Turn], tools: Sequence[ToolSpec]) -> AsyncIterator[Reply]:
        """Stream the next reply; raises BrainError when it cannot."""
        ...
