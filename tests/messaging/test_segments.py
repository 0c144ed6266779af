"""Segment counts as carriers count them: GSM 03.38 septets (with the escape table) or UTF-16 units."""

import random

import pytest

from messaging.segments import GSM7_BASIC, GSM7_EXTENSION, segment, split

# The GSM 03.38 default alphabet written out by code point, independently of the module's table.
SPEC_BASIC = (
    [0x40, 0xA3, 0x24, 0xA5, 0xE8, 0xE9, 0xF9, 0xEC, 0xF2, 0xC7, 0x0A, 0xD8, 0xF8, 0x0D, 0xC5, 0xE5]
    + [0x394, 0x5F, 0x3A6, 0x393, 0x39B, 0x3A9, 0x3A0, 0x3A8, 0x3A3, 0x398, 0x39E, 0xC6, 0xE6, 0xDF, 0xC9]
    + [0x20, 0x21, 0x22, 0x23, 0xA4, *range(0x25, 0x40), 0xA1, *range(0x41, 0x5B), 0xC4, 0xD6, 0xD1, 0xDC]
    + [0xA7, 0xBF, *range(0x61, 0x7B), 0xE4, 0xF6, 0xF1, 0xFC, 0xE0]
)
SPEC_EXTENSION = [0x0C, 0x5E, 0x7B, 0x7D, 0x5C, 0x5B, 0x7E, 0x5D, 0x7C, 0x20AC]


def test_the_alphabets_match_the_specification() -> None:
    assert len(SPEC_BASIC) == 127  # 128 codes less the escape
    assert {chr(c) for c in SPEC_BASIC} == GSM7_BASIC
    assert {chr(c) for c in SPEC_EXTENSION} == GSM7_EXTENSION
    assert not GSM7_BASIC & GSM7_EXTENSION


@pytest.mark.parametrize(
    ("length", "segments"),
    [(0, 1), (1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4), (1600, 11)],
)
def test_gsm7_single_and_concatenated_limits(length: int, segments: int) -> None:
    result = segment("a" * length)
    assert (result.encoding, result.num_segments, result.units) == ("GSM-7", segments, length)


@pytest.mark.parametrize(
    ("length", "segments"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_ucs2_single_and_concatenated_limits(length: int, segments: int) -> None:
    result = segment("ł" * length)  # Polish l with stroke: not in GSM-7
    assert (result.encoding, result.num_segments, result.units) == ("UCS-2", segments, length)


def test_extension_characters_cost_two_septets() -> None:
    assert segment("€" * 80) == segment("a" * 160)
    assert segment("€" * 81).num_segments == 2
    assert segment("[" * 80 + "a").num_segments == 2  # 161 septets
    assert segment("{}\\[~]|^€\f").units == 20


def test_an_escape_sequence_is_never_split_across_parts() -> None:
    body = "a" * 152 + "€" + "a" * 10  # 164 septets: the euro would straddle septets 153 and 154
    encoding, parts = split(body)
    assert encoding == "GSM-7" and parts == ["a" * 152, "€" + "a" * 10]
    # 306 septets would fit in two parts of 153 if the escape could be split; it cannot.
    tight = "a" * 152 + "€" + "a" * 152
    assert segment(tight).units == 306 and segment(tight).num_segments == 3


def test_one_character_outside_gsm7_makes_the_whole_body_ucs2() -> None:
    body = "a" * 100 + "ł"
    assert (segment(body).encoding, segment(body).num_segments) == ("UCS-2", 2)
    for char in "`ç’“”…\t":  # look alike, but are not in the default alphabet
        assert segment("Hi" + char).encoding == "UCS-2", repr(char)


def test_gsm7_specials_stay_gsm7() -> None:
    body = "Ünïcode? No: ΔΦΓΛΩΠΨΣΘΞ ÆæßÉ ¡¿ §¤ @£$¥ èéùìòÇ Øø Åå\r\n"
    assert "ï" in body and segment(body).encoding == "UCS-2"  # ï is not in the alphabet
    assert segment(body.replace("ï", "i")).encoding == "GSM-7"


def test_astral_emoji_take_two_units() -> None:
    assert segment("😀" * 35) == segment("ł" * 70)
    assert segment("😀" * 36).num_segments == 2
    assert segment("a" * 68 + "😀").num_segments == 1  # 70 units
    assert segment("a" * 69 + "😀").num_segments == 2  # 71 units


def test_a_surrogate_pair_is_never_split_across_parts() -> None:
    body = "a" * 66 + "😀" + "a" * 10  # the emoji would take units 67 and 68
    encoding, parts = split(body)
    assert encoding == "UCS-2" and parts == ["a" * 66, "😀" + "a" * 10]
    assert segment("😀" * 36).num_segments == 2 and split("😀" * 36)[1] == ["😀" * 33, "😀" * 3]
    # Emoji only: 67 is odd, so each part holds 33 of them (66 units).
    assert segment("😀" * 67).num_segments == 3


def test_bmp_emoji_and_combining_sequences_count_code_units() -> None:
    assert segment("☺").units == 1  # U+263A is in the BMP
    assert segment("👍🏽").units == 4  # thumbs up with a skin tone: two astral code points
    assert segment("e\u0301").units == 2  # e with a combining acute accent: two units


def test_parts_always_rejoin_to_the_body_and_respect_the_limits() -> None:
    rng = random.Random(4)
    alphabet = "abc €[ł😀\n" + "".join(GSM7_BASIC)
    for _ in range(500):
        body = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 700)))
        encoding, parts = split(body)
        assert "".join(parts) == body
        result = segment(body)
        assert result.num_segments == len(parts) and result.encoding == encoding
        if len(parts) > 1:
            limit = 153 if encoding == "GSM-7" else 67
            for part in parts:
                assert segment(part).encoding == encoding or encoding == "UCS-2"
                cost = sum(
                    (2 if c in GSM7_EXTENSION else 1)
                    if encoding == "GSM-7"
                    else len(c.encode("utf-16-le")) // 2
                    for c in part
                )
                assert 0 < cost <= limit
