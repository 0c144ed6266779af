"""The one keyset pager's cursors: the same text every list carried before they shared it."""

import base64
import uuid
from datetime import UTC, datetime

import pytest

from conversations.models import Item
from core.errors import TwilioError
from core.paging import InvalidCursor, Keyset, _decode_token, _encode_token
from messaging.models import Message
from numbering.models import IncomingPhoneNumber

AT = datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)
ID = uuid.UUID(int=7)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_twilio_page_tokens_carry_the_direction_time_and_id() -> None:
    number = IncomingPhoneNumber(id=ID, date_created=AT)
    token = _encode_token("after", number)
    assert token == "PT" + _b64(f"after|{AT.isoformat()}|{ID.hex}")
    assert _decode_token(Keyset(IncomingPhoneNumber), token) == ("after", (AT, ID))


@pytest.mark.parametrize(
    "token", ["PTnonsense", _b64(f"after|{AT.isoformat()}|{ID.hex}"), "PT" + _b64("sideways|x|y")]
)
def test_a_page_token_we_did_not_make_is_21481(token: str) -> None:
    with pytest.raises(TwilioError) as refused:
        _decode_token(Keyset(IncomingPhoneNumber), token)
    assert refused.value.twilio_code == 21481


def test_native_cursors_are_the_rows_values() -> None:
    timeline = Keyset(Item, ("occurred_at", "id"))
    cursor = timeline.cursor(Item(id=ID, occurred_at=AT))
    assert cursor == _b64(f"{AT.isoformat()}|{ID.hex}") and timeline.decode(cursor) == (AT, ID)
    recipients = Keyset(Message, ("to_number",), descending=False)
    assert recipients.cursor(Message(to_number="+15551230001")) == _b64("+15551230001")


@pytest.mark.parametrize(
    "token",
    ["not-a-cursor", "!!", "\x00", _b64("2025-03-01T12:30:15|" + ID.hex), _b64(f"{AT.isoformat()}|zz"), ""],
)
def test_a_damaged_cursor_is_invalid(token: str) -> None:
    with pytest.raises(InvalidCursor):
        Keyset(Item, ("occurred_at", "id")).decode(token)
