"""The offline brain: intents by phrase, slots (a day, a time, a name) and the tenant's FAQ entries, so
an agent answers with no model and no key anywhere, and every flow is testable without one.

It is stateless like any brain: each reply is worked out from the whole conversation (`turns`), so
slots said in earlier turns still count. It asks for tools only among those it is offered.
"""

import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from ai.brains.base import Reply, TextDelta, ToolCall, ToolSpec, Turn

PERSON_WORDS = frozenset(
    {"person", "human", "agent", "representative", "operator", "someone", "receptionist"}
)
GOODBYE = re.compile(r"\b(bye|goodbye|that's all|that is all|hang up|nothing else)\b")
TEXT_ME = re.compile(r"\b(text me|send me a text|send me an sms|message me)\b")
HISTORY = re.compile(r"\b(last time|last call|history|called before|previous)\b")
BOOKING = re.compile(r"\b(appointment|book|booking|schedule|reschedule)\b")
DAY = re.compile(
    r"\b(today|tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"(?:january|february|march|april|may|june|july|august|september|october|november|december) \d{1,2})\b"
)
TIME = re.compile(r"\b(\d{1,2}(?::\d{2})? ?(?:am|pm|a m|p m)|noon|morning|afternoon|evening)\b")
NAME = re.compile(r"\b(?:my name is|this is|i am|i'm) ([a-z]+(?: [a-z]+)?)")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "do",
        "you",
        "your",
        "what",
        "when",
        "where",
        "how",
        "to",
        "of",
        "for",
        "me",
        "my",
        "i",
        "we",
        "our",
        "can",
    ]
)
WORD = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True)
class Faq:
    phrases: tuple[str, ...]
    answer: str


def _words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def _faq_score(faq: Faq, words: set[str]) -> int:
    """How well the caller's words match the entry: the most content words of one phrase all said."""
    best = 0
    for phrase in faq.phrases:
        content = {w for w in _words(phrase) if w not in STOPWORDS} or set(_words(phrase))
        if content and content <= words:
            best = max(best, len(content))
    return best


@dataclass(frozen=True)
class Slots:
    day: str = ""
    time: str = ""
    name: str = ""


def slots_of(turns: Sequence[Turn]) -> Slots:
    """The latest day, time and name the caller has said in any turn."""
    found = Slots()
    for turn in turns:
        if turn.role != "user":
            continue
        text = turn.content.lower()
        day, time, name = DAY.search(text), TIME.search(text), NAME.search(text)
        found = Slots(
            day=day.group(1) if day else found.day,
            time=time.group(1) if time else found.time,
            name=name.group(1).title() if name else found.name,
        )
    return found


class ScriptedBrain:
    """A `Brain` answering from `faqs`; its fallback names what it can do (repeating it is how the
    runtime sees a conversation that is not getting anywhere)."""

    def __init__(self, faqs: Sequence[Faq]) -> None:
        self.faqs = tuple(faqs)

    async def respond(self, turns: Sequence[Turn], tools: Sequence[ToolSpec]) -> AsyncIterator[Reply]:
        for reply in self._decide(turns, {tool.name for tool in tools}):
            yield reply

    def _decide(self, turns: Sequence[Turn], offered: set[str]) -> list[Reply]:
        last = turns[-1] if turns else Turn(role="user", content="")
        if last.role == "tool":
            return [TextDelta(self._after_tool(last.content))]
        text = last.content.lower()
        words = set(_words(text))
        if words & PERSON_WORDS and "transfer_to_human" in offered:
            summary = f"Caller asked for a person: {last.content}"
            return [self._call(turns, "transfer_to_human", {"queue": "", "summary": summary})]
        if TEXT_ME.search(text) and "send_text" in offered:
            faq = self._best_faq(words - {"text", "me"})
            body = (
                faq.answer if faq else "Thanks for calling. Reply to this text and we will get back to you."
            )
            return [self._call(turns, "send_text", {"body": body})]
        if HISTORY.search(text) and "lookup_history" in offered:
            return [self._call(turns, "lookup_history", {})]
        if GOODBYE.search(text) and "end_call" in offered:
            return [TextDelta("Thank you for calling. Goodbye."), self._call(turns, "end_call", {})]
        if BOOKING.search(text):
            return [TextDelta(self._booking(slots_of(turns)))]
        faq = self._best_faq(words)
        if faq:
            return [TextDelta(faq.answer)]
        return [TextDelta(self._fallback(offered))]

    def _best_faq(self, words: set[str]) -> Faq | None:
        scored = [(score, faq) for faq in self.faqs if (score := _faq_score(faq, words))]
        return max(scored, key=lambda pair: pair[0])[1] if scored else None

    @staticmethod
    def _call(turns: Sequence[Turn], name: str, arguments: dict[str, str]) -> ToolCall:
        return ToolCall(id=f"call_{len(turns)}_{name}", name=name, arguments=json.dumps(arguments))

    @staticmethod
    def _booking(slots: Slots) -> str:
        if not slots.day:
            return "I can help with an appointment. Which day would suit you?"
        when = f"{slots.day} {slots.time}".strip()
        who = f" for {slots.name}" if slots.name else ""
        return f"I have noted a request for {when}{who}. Our team will confirm it by text."

    def _fallback(self, offered: set[str]) -> str:
        """Names only what the agent can do: a person only when it was offered the transfer."""
        topics = ", ".join(faq.phrases[0] for faq in self.faqs[:3] if faq.phrases)
        about = f"questions about {topics}, " if topics else ""
        person = "connect you to a person" if "transfer_to_human" in offered else "take a message"
        return f"Sorry, I did not get that. I can help with {about}appointments, or {person}."

    @staticmethod
    def _after_tool(result: str) -> str:
        """What to say once a tool has run: the tool's own `say`, or its error."""
        try:
            parsed = json.loads(result)
        except ValueError:
            parsed = {}
        if isinstance(parsed, dict) and parsed.get("say"):
            return str(parsed["say"])
        if isinstance(parsed, dict) and parsed.get("error"):
            return "Sorry, I could not do that just now."
        return "Done."
