"""Dates the way Twilio writes them: RFC 2822 in GMT (`Tue, 31 Aug 2010 20:36:28 +0000`)."""

from datetime import UTC, datetime
from email.utils import format_datetime


def rfc2822(value: datetime | None) -> str | None:
    if value is None:
        return None
    return format_datetime(value.astimezone(UTC)).replace("-0000", "+0000")
