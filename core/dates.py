"""Dates the way Twilio writes them: RFC 2822 in GMT in the 2010 API (`Tue, 31 Aug 2010 20:36:28 +0000`),
ISO 8601 in UTC in the v1 product APIs."""

from datetime import UTC, datetime
from email.utils import format_datetime


def rfc2822(value: datetime | None) -> str | None:
    if value is None:
        return None
    return format_datetime(value.astimezone(UTC)).replace("-0000", "+0000")


def iso8601(value: datetime | None) -> str | None:
    """The v1 APIs' form, to the second in UTC (`2016-08-01T22:10:40Z`): the SDKs parse exactly this."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
