"""Building blocks for Twilio's v1 product APIs (TaskRouter's `/taskrouter/v1/…`; later others).

What differs from the 2010 API (core/api.py): each product lives on its own host at Twilio, served
here under `/<product>/v1/`; dates are ISO 8601; every record carries its absolute `url` (and `links`
to its subresources) built from `settings.PUBLIC_BASE_URL`; lists use the v1 envelope, whose `meta`
holds absolute page URLs and names the records' key. Everything else is shared with the 2010 API:
credentials and tenancy (`TwilioView`), form-encoded PascalCase bodies, error bodies, the one pager.
"""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request

from core.api import TwilioView
from core.dates import iso8601
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.paging import Keyset, list_page
from core.parsers import natural_number


def absolute_url(path: str) -> str:
    """`path` (from the server's root, such as `/taskrouter/v1/Workspaces`) as clients reach it."""
    return f"{settings.PUBLIC_BASE_URL}{path}"


@extend_schema_field(OpenApiTypes.DATETIME)
class ISO8601Field(serializers.Field):
    def to_representation(self, value: Any) -> str | None:
        return iso8601(value)


def paginate_v1(
    request: Request,
    queryset: QuerySet,
    *,
    key: str,
    serialize: Callable[[Sequence[Any]], Any],
    keyset: Keyset[Any] | None = None,
) -> dict[str, Any]:
    """One page of `queryset` in the v1 envelope: records under `key`, paging in `meta`."""
    found = list_page(request, queryset, keyset)
    base = absolute_url(request.path)

    def url(query: str | None) -> str | None:
        return f"{base}?{query}" if query is not None else None

    return {
        key: serialize(found.rows),
        "meta": {
            "page": found.page,
            "page_size": found.page_size,
            "first_page_url": url(found.first_query()),
            "previous_page_url": url(found.previous_query()),
            "url": url(found.current_query()),
            "next_page_url": url(found.next_query()),
            "key": key,
        },
    }


def query_boolean(request: Request, name: str) -> bool | None:
    """A boolean filter as the SDKs send it (`true`, `True`, `1`…); None when absent."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    lowered = raw.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise TwilioError(ErrorCode.INVALID_PARAMETER, f"Invalid {name}: {raw}", 400)


def query_datetime(request: Request, name: str) -> datetime | None:
    """An ISO 8601 time filter (`2024-05-01T10:00:00Z`; a time without offset is UTC); None when absent."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise TwilioError(ErrorCode.INVALID_PARAMETER, f"Invalid {name}: {raw}", 400) from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def query_window(
    request: Request, *, default: timedelta, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """The time window of a statistics or events request: `StartDate`/`EndDate`, or `Minutes` back
    from now, or `default` back from now."""
    end = query_datetime(request, "EndDate") or now or datetime.now(UTC)
    minutes_raw = request.query_params.get("Minutes")
    start = query_datetime(request, "StartDate")
    if start is None and minutes_raw:
        minutes = natural_number(minutes_raw)
        if minutes is None or minutes > 60 * 24 * 366:
            raise TwilioError(ErrorCode.INVALID_PARAMETER, f"Invalid Minutes: {minutes_raw}", 400)
        start = end - timedelta(minutes=minutes)
    start = start or end - default
    if start > end:
        raise TwilioError(ErrorCode.INVALID_PARAMETER, "StartDate must not be after EndDate", 400)
    return start, end


class V1View(TwilioView):
    """A v1 resource: `TwilioView`'s credentials and scoping, the v1 list envelope."""

    envelope = staticmethod(paginate_v1)
