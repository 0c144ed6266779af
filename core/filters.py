"""Twilio's list filters as ORM lookups: a parameter equal to a field (`To=`, `FriendlyName=`), and on
dates `DateSent=`, `DateSent<` (on or before), `DateSent>` (on or after)."""

from datetime import UTC, datetime
from typing import Any

from rest_framework.request import Request

from core.error_codes import ErrorCode
from core.errors import TwilioError

DATE_LOOKUPS = {"": "exact", ">": "gte", "<": "lte"}


def exact_filters(request: Request, fields: dict[str, str]) -> dict[str, Any]:
    """ORM lookups for the parameters of `fields` (parameter → field) that the request gives a value."""
    params = request.query_params
    return {field: params[param] for param, field in fields.items() if params.get(param)}


def date_filters(request: Request, param: str, field: str) -> dict[str, Any]:
    """ORM lookups for `param`, `param<` and `param>`; a bare date (YYYY-MM-DD) means that whole day."""
    found: dict[str, Any] = {}
    for suffix, lookup in DATE_LOOKUPS.items():
        raw = request.query_params.get(param + suffix)
        if not raw:
            continue
        try:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError as exc:
            raise TwilioError(ErrorCode.INVALID_PARAMETER, f"Invalid {param}{suffix}: {raw}", 400) from exc
        if len(raw) == 10:
            found[f"{field}__date__{lookup}"] = value.date()
        else:
            # A time without an offset is UTC, as every time in the API is.
            found[f"{field}__{lookup}"] = value if value.tzinfo else value.replace(tzinfo=UTC)
    return found
