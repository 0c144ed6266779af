"""Redaction of card numbers, social security numbers, emails and phone numbers, as typed and as
speech-to-text writes them; examples, then properties over generated text (hypothesis)."""

import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ai.redaction import luhn_valid, redact

VISA = "4111111111111111"
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


@pytest.mark.parametrize(
    ("said", "stored"),
    [
        ("my card is 4111 1111 1111 1111 thanks", "my card is [card number] thanks"),
        ("it's 4111-1111-1111-1111.", "it's [card number]."),
        ("amex 3782 822463 10005 please", "amex [card number] please"),
        (
            "four one one one one one one one one one one one one one one one",
            "[card number]",
        ),
        ("Four one one one, one one one one, 1111 1111 ok", "[card number] ok"),
        ("my ssn is 123-45-6789", "my ssn is [ssn]"),
        ("my social is one two three four five six seven eight nine", "my social is [ssn]"),
        ("write to ana.lima+clinic@mail.example.com today", "write to [email] today"),
        ("it's ana dot lima at example dot com", "it's [email]"),
    ],
)
def test_identifiers_are_replaced(said: str, stored: str) -> None:
    assert redact(said) == stored


@pytest.mark.parametrize(
    "said",
    [
        "order 4111 1111 1111 1112 shipped",  # fails the Luhn check
        "I paid $1,250.00 on 12/25/2026 at 9:30",
        "my reference is 123456789",  # nine digits, neither grouped 3-2-4 nor said as a social
        "my social is 000-12-3456",  # never issued
        "one moment, I have two questions and one more",
        "call me on +1 415 555 2671",  # phone numbers only when asked
    ],
)
def test_what_is_not_an_identifier_is_kept(said: str) -> None:
    assert redact(said) == said


def test_phone_numbers_on_request() -> None:
    assert redact("call me on +1 415 555 2671 or (415) 555-0100.", phones=True) == (
        "call me on [phone] or [phone]."
    )


def test_luhn_matches_known_numbers() -> None:
    assert luhn_valid(VISA) and luhn_valid("378282246310005") and not luhn_valid("4111111111111112")


def with_check_digit(body: str) -> str:
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


words = st.text(alphabet="abcdefghijklmnopqrsuvwxyz ", max_size=30).map(lambda s: f"x {s} x")
card_bodies = st.text(alphabet="0123456789", min_size=15, max_size=15)


def written(digits: str, style: int) -> str:
    groups = [digits[i : i + 4] for i in range(0, len(digits), 4)]
    return [digits, " ".join(groups), "-".join(groups), " ".join(WORDS[int(d)] for d in digits)][style]


@given(before=words, body=card_bodies, style=st.integers(0, 3), after=words)
def test_any_card_number_however_written_is_redacted(before: str, body: str, style: int, after: str) -> None:
    card = with_check_digit(body)
    redacted = redact(f"{before} {written(card, style)} {after}")
    assert redacted == f"{before} [card number] {after}"


@given(body=card_bodies)
def test_a_number_failing_luhn_is_no_card(body: str) -> None:
    wrong = body + str((int(with_check_digit(body)[-1]) + 1) % 10)
    assert redact(f"ref {wrong}") == f"ref {wrong}"


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="@t0123456789")))
def test_text_without_digits_or_addresses_is_untouched(text: str) -> None:
    assert redact(text, phones=True) == text


@given(st.text(alphabet="0123456789 -.,@abcdefghijklmnopqrstuvwxyz+()/", max_size=200), st.booleans())
def test_redaction_is_idempotent(text: str, phones: bool) -> None:
    once = redact(text, phones=phones)
    assert redact(once, phones=phones) == once


@given(st.lists(st.tuples(st.text("0123456789", min_size=1, max_size=6), st.sampled_from([" ", "-", " x "]))))
def test_no_card_number_survives(groups: list[tuple[str, str]]) -> None:
    """However digits are grouped, no 13 to 19 of them in a row (across spaces and dashes) pass Luhn."""
    text = "".join(digits + separator for digits, separator in groups)
    for number in re.split(r"\[[\w ]+\]| x ", redact(text)):
        tokens = re.findall(r"\d+", number)
        for i in range(len(tokens)):
            for j in range(i, len(tokens)):
                digits = "".join(tokens[i : j + 1])
                assert not (13 <= len(digits) <= 19 and luhn_valid(digits)), text


@pytest.mark.parametrize("text", ["a" * 100_000, "a dot " * 20_000, "a.b" * 30_000, "1 " * 50_000])
def test_the_cost_grows_with_the_text_not_its_square(text: str) -> None:
    """A monologue, or a caller steering the text, cannot stall the event loop: before the patterns
    were bounded, 20,000 characters of one word took 2.3 s, and these would have taken minutes."""
    started = time.perf_counter()
    redact(text, phones=True)
    assert time.perf_counter() - started < 2.0
