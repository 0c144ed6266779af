"""Keyset paging, the one implementation every list pages by, and Twilio's list envelope on top of it.

A list is sorted by a `Keyset`: fields all descending (newest first) or all ascending, the last one
unique, so one row's values say where the list continues. Every page is then one indexed range however
deep it is, and there is no COUNT. Cursors are opaque to clients: the row's values, base64url-encoded.

Twilio's `PageToken` is such a cursor with the direction in front; `Page` is informational, as in Twilio.
"""

import base64
import binascii
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from django.db.models import BooleanField, DateTimeField, Field, IntegerField, Model, QuerySet, UUIDField
from django.db.models.expressions import RawSQL
from rest_framework.request import Request

from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.parsers import natural_number

Row = TypeVar("Row", bound=Model)


class InvalidCursor(ValueError):
    """A cursor no `Keyset` made, or one damaged on the way."""


def _pack(*parts: str) -> str:
    return base64.urlsafe_b64encode("|".join(parts).encode()).decode().rstrip("=")


def _unpack(token: str, count: int) -> list[str]:
    padded = token + "=" * (-len(token) % 4)
    try:
        parts = base64.b64decode(padded, altchars=b"-_", validate=True).decode().split("|")
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor(token) from exc
    if len(parts) != count or not all(parts):
        raise InvalidCursor(token)
    return parts


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return value.hex if isinstance(value, uuid.UUID) else str(value)


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of a list, and the cursor of the next one (None on the last)."""

    rows: list[Row]
    next_cursor: str | None


@dataclass(frozen=True)
class Keyset(Generic[Row]):
    """How a list of `model` rows is sorted, for paging: by `fields`, all descending or all ascending."""

    model: type[Row]
    fields: tuple[str, ...] = ("date_created", "id")
    descending: bool = True

    def key(self, row: Row) -> tuple[Any, ...]:
        """The row's position in the list."""
        return tuple(getattr(row, field) for field in self.fields)

    def texts(self, row: Row) -> list[str]:
        """The row's position in the list, as the text a cursor carries."""
        return [_text(value) for value in self.key(row)]

    def position(self, texts: Sequence[str], token: str) -> tuple[Any, ...]:
        """The values `texts` (from `token`) stand for; InvalidCursor if they cannot be these fields'."""
        try:
            return tuple(self._value(field, text) for field, text in zip(self.fields, texts, strict=True))
        except ValueError as exc:
            raise InvalidCursor(token) from exc

    def _field(self, name: str) -> "Field[Any, Any]":
        field = self.model._meta.get_field(name)
        assert isinstance(field, Field), f"{name} is a column of {self.model.__name__}"
        return field

    def _value(self, field: str, text: str) -> Any:
        kind = self._field(field)
        if isinstance(kind, DateTimeField):
            at = datetime.fromisoformat(text)
            if at.tzinfo is None:
                raise ValueError(text)
            return at
        if isinstance(kind, IntegerField):
            return int(text)
        return uuid.UUID(hex=text) if isinstance(kind, UUIDField) else text

    def cursor(self, row: Row) -> str:
        return _pack(*self.texts(row))

    def decode(self, token: str) -> tuple[Any, ...]:
        return self.position(_unpack(token, len(self.fields)), token)

    def beyond(
        self, rows: QuerySet[Row], position: Sequence[Any], *, backward: bool = False
    ) -> QuerySet[Row]:
        """The rows after `position` in the list's order (before it, `backward`). A row comparison,
        unlike the equivalent OR, is one range condition on the list's index."""
        meta = self.model._meta
        columns = ", ".join(f'"{meta.db_table}"."{self._field(field).column}"' for field in self.fields)
        marks = ", ".join(["%s"] * len(self.fields))
        comparison = "<" if self.descending != backward else ">"
        # Identifiers come from model metadata and the position's values are parameters: nothing of
        # the client's reaches the SQL text.
        condition = RawSQL(f"({columns}) {comparison} ({marks})", list(position), output_field=BooleanField())  # noqa: S611
        return rows.filter(condition)

    def _order(self, *, backward: bool = False) -> list[str]:
        sign = "-" if self.descending != backward else ""
        return [f"{sign}{field}" for field in self.fields]

    def read(
        self,
        rows: QuerySet[Row],
        *,
        size: int,
        after: Sequence[Any] | None = None,
        before: Sequence[Any] | None = None,
        skip: int = 0,
    ) -> tuple[list[Row], bool]:
        """Up to `size` rows in the list's order: the first (past `skip`), those following `after`, or
        the `size` just preceding `before`; and whether more lie beyond them in the direction read."""
        if before is not None:
            preceding = self.beyond(rows, before, backward=True).order_by(*self._order(backward=True))
            found = list(preceding[: size + 1])
            return found[:size][::-1], len(found) > size
        if after is not None:
            rows = self.beyond(rows, after)
        found = list(rows.order_by(*self._order())[skip : skip + size + 1])
        return found[:size], len(found) > size

    def page(self, rows: QuerySet[Row], *, cursor: str | None, size: int) -> Page[Row]:
        """The page that continues from `cursor` (the first page without one); InvalidCursor if it is
        not one of this list's cursors."""
        found, more = self.read(rows, size=size, after=self.decode(cursor) if cursor else None)
        return Page(found, self.cursor(found[-1]) if more else None)


def page_or_first(select: Callable[[str | None], Page[Row]], cursor: str | None) -> tuple[Page[Row], bool]:
    """For the portal's pages: the page `select` finds after `cursor`, or the first page when the
    cursor is damaged (a page rather than an error); and whether the page is the first."""
    if cursor:
        try:
            return select(cursor), False
        except InvalidCursor:
            pass
    return select(None), True


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
        raise TwilioError(ErrorCode.INVALID_PARAMETER, f"Invalid {name}: {raw}", 400)
    return value


def _encode_token(direction: str, row: Model, keyset: Keyset[Any] | None = None) -> str:
    return "PT" + _pack(direction, *(keyset or Keyset(type(row))).texts(row))


def _decode_token(keyset: Keyset[Any], token: str) -> tuple[str, tuple[Any, ...]]:
    try:
        if not token.startswith("PT"):
            raise InvalidCursor(token)
        direction, *texts = _unpack(token[2:], 1 + len(keyset.fields))
        if direction not in ("after", "before"):
            raise InvalidCursor(token)
        return direction, keyset.position(texts, token)
    except InvalidCursor as exc:
        raise TwilioError(ErrorCode.INVALID_PAGE_TOKEN, f"Invalid PageToken: {token}", 400) from exc


@dataclass(frozen=True)
class ListPage:
    """The page of a list a request asked for with Twilio's `PageSize`, `Page` and `PageToken`, and
    the query strings of the pages around it (the request's filters kept); each API version wraps
    it in its own envelope."""

    rows: list[Any]
    page: int
    page_size: int
    token: str | None
    next_token: str | None
    previous_token: str | None
    filters: list[tuple[str, str]]

    def query(self, page_number: int, page_token: str | None = None) -> str:
        params = [*self.filters, ("PageSize", self.page_size), ("Page", page_number)]
        if page_token:
            params.append(("PageToken", page_token))
        return urlencode(params)

    def current_query(self) -> str:
        return self.query(self.page, self.token)

    def first_query(self) -> str:
        return self.query(0)

    def next_query(self) -> str | None:
        return self.query(self.page + 1, self.next_token) if self.next_token else None

    def previous_query(self) -> str | None:
        return self.query(self.page - 1, self.previous_token) if self.previous_token else None


def list_page(request: Request, queryset: QuerySet, keyset: Keyset[Any] | None = None) -> ListPage:
    """The page of `queryset`, in `keyset`'s order (newest first by default), that `request` asks for."""
    page_size = _int_param(request, "PageSize", DEFAULT_PAGE_SIZE)
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise TwilioError(
            ErrorCode.PAGE_SIZE_TOO_LARGE, f"Page size must be between 1 and {MAX_PAGE_SIZE}", 400
        )
    page = _int_param(request, "Page", 0)
    token = request.query_params.get("PageToken")
    keyset = keyset or Keyset(queryset.model)
    direction = "after"
    if token:
        direction, position = _decode_token(keyset, token)
        if direction == "after":
            rows, has_extra = keyset.read(queryset, size=page_size, after=position)
        else:
            rows, has_extra = keyset.read(queryset, size=page_size, before=position)
    else:
        if page * page_size > MAX_OFFSET:
            raise TwilioError(
                ErrorCode.INVALID_PARAMETER,
                f"Page {page} is too deep without a PageToken; follow next_page_uri",
                400,
            )
        rows, has_extra = keyset.read(queryset, size=page_size, skip=page * page_size)
    if direction == "before":
        has_next, has_previous = True, has_extra
    else:
        has_next, has_previous = has_extra, page > 0
    return ListPage(
        rows=rows,
        page=page,
        page_size=page_size,
        token=token,
        next_token=_encode_token("after", rows[-1], keyset) if has_next and rows else None,
        previous_token=_encode_token("before", rows[0], keyset) if has_previous and rows else None,
        filters=[
            (k, v) for k, values in request.query_params.lists() if k not in PAGING_PARAMS for v in values
        ],
    )


def paginate(
    request: Request,
    queryset: QuerySet,
    *,
    key: str,
    serialize: Callable[[Sequence[Any]], Any],
    keyset: Keyset[Any] | None = None,
) -> dict[str, Any]:
    """One page of `queryset` in the 2010 API's envelope, records under `key`, newest first unless
    `keyset` says otherwise; its URIs are relative to the host, as Twilio's are."""
    found = list_page(request, queryset, keyset)
    path = request.path

    def uri(query: str | None) -> str | None:
        return f"{path}?{query}" if query is not None else None

    start = found.page * found.page_size
    return {
        key: serialize(found.rows),
        "page": found.page,
        "page_size": found.page_size,
        "start": start,
        "end": start + max(len(found.rows) - 1, 0),
        "uri": uri(found.current_query()),
        "first_page_uri": uri(found.first_query()),
        "next_page_uri": uri(found.next_query()),
        "previous_page_uri": uri(found.previous_query()),
    }
