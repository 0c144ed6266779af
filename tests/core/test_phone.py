"""core/phone.py: the one place numbers are normalised (the Messages API, the SMS webhook, bulk alerts,
inbound carriers and trunks)."""

import pytest

from core.phone import caller_presented, carrier_e164, e164_each, region_of, to_e164


def test_a_number_is_e164_only_with_its_country_code_and_when_valid() -> None:
    assert to_e164(" +1 (415) 555-0101 ") == "+14155550101"
    assert to_e164("4155550101") is None
    assert to_e164("+1415555010") is None


def test_a_carrier_number_without_its_plus_is_read_with_it() -> None:
    assert carrier_e164("14155550101") == carrier_e164("+14155550101") == "+14155550101"
    assert carrier_e164("Clinic") is None


def test_each_value_is_normalised_in_order_formatting_aside() -> None:
    assert e164_each(["+1 (415) 555-0101", "", "+1 415.555.0101", "nonsense"]) == [
        "+14155550101",
        None,
        "+14155550101",
        None,
    ]


def test_the_region_is_the_numbers_country_or_nothing() -> None:
    assert region_of("+14155550101") == "US"
    assert region_of("+442071838750") == "GB"
    assert region_of("Clinic") == ""


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("15551230001", "+15551230001"),
        ("+15551230001", "+15551230001"),
        ("", "anonymous"),
        ("anonymous", "anonymous"),
    ],
)
def test_a_caller_is_shown_with_its_plus_or_as_anonymous(given: str, shown: str) -> None:
    assert caller_presented(given) == shown
