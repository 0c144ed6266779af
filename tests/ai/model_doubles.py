"""What the speech-to-speech bridges' tests give a bridge in place of the call's runtime: the agent's
one tool (`book`), a tool runner that records what it ran, and records of what each side said. The
provider on the far side is each test's own local server speaking the provider's protocol."""

from dataclasses import dataclass
from typing import Any

from ai.brains.base import ToolSpec
from ai.speech_to_speech.base import Role

BOOK = ToolSpec(
    "book",
    "Book an appointment",
    {"type": "object", "properties": {"day": {"type": "string"}}, "required": ["day"]},
)


@dataclass(frozen=True)
class Result:
    content: str
    ends_session: bool = False


class Tools:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def run(self, name: str, arguments: dict[str, Any]) -> Result:
        self.calls.append((name, arguments))
        return Result('{"booked": true}')


class Records:
    def __init__(self) -> None:
        self.said: list[tuple[str, str]] = []

    async def heard(self, role: Role, text: str) -> None:
        self.said.append((role, text))

    async def turn_done(self) -> None:
        self.said.append(("", "turn done"))
