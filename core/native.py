"""The base of the native API under /api/v1/ (conversations, bulk alerts): same credentials, tenancy,
throttling and error bodies as the Twilio-compatible API (`NativeView` derives from `TwilioView`);
snake_case JSON in and out, ISO 8601 times in UTC, and keyset paging by opaque `cursor`
(core/paging.py)."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from core.api import TwilioView
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.paging import InvalidCursor, Page
from core.parsers import StrictFormParser, natural_number

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
PAGING = [
    OpenApiParameter("cursor", str, description="`next_cursor` of the previous page."),
    OpenApiParameter("page_size", int, description=f"1 to {MAX_PAGE_SIZE}; {DEFAULT_PAGE_SIZE} by default."),
]


def iso(value: datetime) -> str:
    """A time as the native API writes it: ISO 8601 in UTC with a `Z`."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def invalid_cursor(token: str | None) -> TwilioError:
    return TwilioError(ErrorCode.INVALID_PAGE_TOKEN, f"Invalid cursor: {token}", 400)


class PageOutput(serializers.Serializer):
    """What every native API page carries beside its rows (a subclass names the rows' key)."""

    next_cursor = serializers.CharField(allow_null=True, help_text="Pass as `cursor` for the next page.")
    next_page_url = serializers.CharField(allow_null=True)


class NativeView(TwilioView):
    """JSON or form bodies; errors name parameters as sent (snake_case), in Twilio's error body."""

    parser_classes = [JSONParser, StrictFormParser]

    def page_size(self) -> int:
        size = natural_number(self.request.query_params.get("page_size") or str(DEFAULT_PAGE_SIZE))
        if size is None or not 1 <= size <= MAX_PAGE_SIZE:
            raise TwilioError(
                ErrorCode.PAGE_SIZE_TOO_LARGE, f"page_size must be between 1 and {MAX_PAGE_SIZE}", 400
            )
        return size

    def render_cursor_page(
        self,
        key: str,
        select: Callable[[str | None, int], Page[Any]],
        serializer: type[serializers.Serializer],
    ) -> Response:
        """The page `select(cursor, size)` returns for this request's cursor (as sent: the selectors
        decode it) and page size: its rows, the next page's cursor and its URL (same query)."""
        cursor = self.request.query_params.get("cursor") or None
        size = self.page_size()
        try:
            page = select(cursor, size)
        except InvalidCursor as exc:
            raise invalid_cursor(cursor) from exc
        kept = [(k, v) for k, v in self.request.query_params.items() if k != "cursor"]
        token = page.next_cursor
        return Response(
            {
                key: serializer(page.rows, many=True).data,
                "next_cursor": token,
                "next_page_url": f"{self.request.path}?{urlencode([*kept, ('cursor', token)])}"
                if token
                else None,
            }
        )

    def validated_native(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        serializer = serializer_class(data=self.request.data)
        if not serializer.is_valid():
            field, [error, *_] = next(iter(serializer.errors.items()))
            if error.code == "required":
                raise TwilioError(ErrorCode.UNKNOWN_PARAMETERS, f"Missing required parameter {field}", 400)
            if field == "non_field_errors":  # the body is not an object at all
                raise TwilioError(ErrorCode.INVALID_PARAMETER, str(error), 400)
            raise TwilioError(ErrorCode.INVALID_PARAMETER, f"Invalid parameter {field}: {error}", 400)
        return dict(serializer.validated_data)
