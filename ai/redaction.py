"""Redaction of what a caller should not have stored or sent on: card numbers, US social security
numbers, email addresses and, when asked, phone numbers.

A pure function of text, applied before a transcript is stored or sent to a provider. It reads text
as speech-to-text writes it as well as typed text: numbers come as digit runs in any grouping
("4111 1111-1111 1111") or as spoken digits ("four one one one ..."), and addresses as "ana dot lima
at example dot com". A card number is a run of 13 to 19 digits that passes the Luhn check (a random
run fails it nine times in ten, so order numbers and amounts mostly survive); a social security number
is nine digits grouped 3-2-4, or said after the words "social" or "SSN", within the numbers the SSA
issues (not area 000, 666 or 9xx, group 00, serial 0000).
"""

import re
from dataclasses import dataclass

CARD = "[card number]"
SSN = "[ssn]"
EMAIL = "[email]"
PHONE = "[phone]"

_DIGIT_WORDS = {
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_TOKEN = re.compile(r"\d+|\b(?:" + "|".join(_DIGIT_WORDS) + r")\b", re.IGNORECASE)
_BETWEEN = re.compile(r"[\s\-.,()/]{0,4}")  # what may separate the digits of one number
# Bounded repeats and a match that starts only where a name does: the cost stays linear in the
# text's length (unbounded ones made 20,000 characters of one word take seconds).
_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}")
_SPOKEN_EMAIL = re.compile(
    r"\b\w{1,64}(?: dot \w{1,64}){0,3} at \w{1,63}(?: dot \w{1,63}){1,4}\b", re.IGNORECASE
)
_SSN_CUE = re.compile(r"\b(?:social|ssn|s s n)\b", re.IGNORECASE)
_SSN_CUE_REACH = 40  # characters before the number where the cue may be


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    digits: str


def _runs(text: str) -> list[list[_Token]]:
    """Digit tokens, grouped into the numbers they make: tokens with only separators between them."""
    runs: list[list[_Token]] = []
    for match in _TOKEN.finditer(text):
        token = _Token(match.start(), match.end(), _DIGIT_WORDS.get(match[0].lower(), match[0]))
        if runs and _BETWEEN.fullmatch(text, runs[-1][-1].end, token.start):
            runs[-1].append(token)
        else:
            runs.append([token])
    return runs


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _is_ssn(digits: str) -> bool:
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _ssn_shaped(text: str, tokens: list[_Token]) -> bool:
    grouped = [len(t.digits) for t in tokens] == [3, 2, 4]
    cue = _SSN_CUE.search(text, max(0, tokens[0].start - _SSN_CUE_REACH), tokens[0].start)
    return grouped or cue is not None


def _spans(text: str, run: list[_Token], phones: bool) -> list[tuple[int, int, str]]:
    """The spans of `run` to replace, each the longest match from its first token on."""
    spans = []
    i = 0
    while i < len(run):
        found: tuple[int, str] | None = None
        digits = ""
        for j in range(i, len(run)):
            digits += run[j].digits
            if len(digits) > 19:
                break
            if len(digits) >= 13 and luhn_valid(digits):
                found = (j, CARD)
            elif len(digits) == 9 and _is_ssn(digits) and _ssn_shaped(text, run[i : j + 1]):
                found = found or (j, SSN)
            elif phones and 10 <= len(digits) <= 15 and (found is None or found[1] == PHONE):
                found = (j, PHONE)
        if found is None:
            i += 1
            continue
        j, label = found
        opening = text[run[i].start - 1 : run[i].start] if run[i].start else ""
        start = run[i].start - (1 if label == PHONE and opening in ("+", "(") else 0)
        spans.append((start, run[j].end, label))
        i = j + 1
    return spans


def redact(text: str, *, phones: bool = False) -> str:
    """`text` with card numbers, social security numbers, email addresses and (with `phones`) phone
    numbers of 10 to 15 digits replaced by labels such as "[card number]"; idempotent."""
    text = _SPOKEN_EMAIL.sub(EMAIL, _EMAIL.sub(EMAIL, text))
    pieces, kept_from = [], 0
    for run in _runs(text):
        for start, end, label in _spans(text, run, phones):
            pieces += [text[kept_from:start], label]
            kept_from = end
    return "".join([*pieces, text[kept_from:]])
