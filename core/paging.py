"""Twilio's list envelope with keyset paging.

Lists are ordered newest first by (`date_created`, `id`). `PageToken` is opaque to clients: it
carries the direction and the sort key of the row it continues from, so every page is one indexed
query however deep it is, and there is no COUNT. `Page` is informational, as in Twilio.
"""

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.db.models import BooleanField, Model, QuerySet
from django.db.models.expressions import RawSQL
from rest_framework.request import Request

from core.errors import TwilioError
from core.parsers import natural_number

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
MAX_OFFSET = 10_000  # deeper pages must come by PageToken, never by OFFSET
PAGING_PARAMS = frozenset({"Page", "PageSize", "PageToken"})


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    value = natural_number(raw)
    if value is None:
        raise TwilioError(20422, f"Invalid {name}: {raw}", 400)
    return value


def _encode_token(direction: str, row: Model) -> str:
    raw = f"{direction}|{row.date_created.isoformat()}|{row.pk.hex}"  # type: ignore[attr-defined]
    return "PT" + base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_token(token: str) -> tuple[str, datetime, uuid.UUID]:
    try:
        padded = token[2:] + "=" * (-len(token[2:]) % 4)
        direction, created, pk = base64.urlsafe_b64decode(padded).decode().split("|")
        if not token.startswith("PT") or direction not in ("after", "before"):
            raise ValueError(direction)
        return direction, datetime.fromisoformat(created), uuid.UUID(hex=pk)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise TwilioError(21481, f"Invalid PageToken: {token}", 400) from exc


def paginate(
    request: Request,
    queryset: QuerySet,
    *,
    key: str,
    serialize: Callable[[Sequence[Any]], Any],
) -> dict[str, Any]:
    """One page of `queryset` in Twilio's envelope, records under `key`."""
    page_size = _int_param(request, "PageSize", DEFAULT_PAGE_SIZE)
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise TwilioError(20007, f"Page size must be between 1 and {MAX_PAGE_SIZE}", 400)
    page = _int_param(request, "Page", 0)
    token = request.query_params.get("PageToken")
    newest_first = queryset.order_by("-date_created", "-id")
    direction = "after"
    if token:
        direction, created, pk = _decode_token(token)
        # A row comparison, unlike the equivalent OR, is an index range condition: the page reads
        # page_size rows however deep it is.
        if direction == "after":
            after = RawSQL("(date_created, id) < (%s, %s)", [created, pk], output_field=BooleanField())
            rows = list(newest_first.filter(after)[: page_size + 1])
        else:
            before = RawSQL("(date_created, id) > (%s, %s)", [created, pk], output_field=BooleanField())
            rows = list(queryset.order_by("date_created", "id").filter(before)[: page_size + 1])
    else:
        if page * page_size > MAX_OFFSET:
            raise TwilioError(
                20422, f"Page {page} is too deep without a PageToken; follow next_page_uri", 400
            )
        rows = list(newest_first[page * page_size : page * page_size + page_size + 1])
    has_extra = len(rows) > page_size
    rows = rows[:page_size]
    if direction == "before":
        rows.reverse()
        has_next, has_previous = True, has_extra
    else:
        has_next, has_previous = has_extra, page > 0

    filters = [(k, v) for k, values in request.query_params.lists() if k not in PAGING_PARAMS for v in values]

    def uri(page_number: int, page_token: str | None = None) -> str:
        params = [*filters, ("PageSize", page_size), ("Page", page_number)]
        if page_token:
            params.append(("PageToken", page_token))
        return f"{request.path}?{urlencode(params)}"

    start = page * page_size
    return {
        key: serialize(rows),
        "page": page,
        "page_size": page_size,
        "start": start,
        "end": start + max(len(rows) - 1, 0),
        "uri": uri(page, token),
        "first_page_uri": uri(0),
        "next_page_uri": uri(page + 1, _encode_token("after", rows[-1])) if has_next and rows else None,
        "previous_page_uri": uri(page - 1, _encode_token("before", rows[0]))
        if has_previous and rows
        else None,
    }
