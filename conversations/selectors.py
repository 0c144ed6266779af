"""Reads: the inbox, one conversation, a timeline page, and full-text search, each by keyset.

Every list is newest first by a (timestamp, id) pair and continues from an opaque cursor that
names the last row shown, so each page is one indexed range scan however deep it is.
"""

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from django.contrib.postgres.search import SearchQuery
from django.db.models import BooleanField, Model, QuerySet
from django.db.models.expressions import RawSQL

from conversations.models import SEARCH_CONFIG, Contact, Conversation, Item, Note, search_vector
from core.sids import sid_to_uuid
from messaging.models import Message
from tenants.models import Account

Row = TypeVar("Row", bound=Model)

# What every timeline row shows, fetched in the page's one query.
ITEM_RELATED = ("call", "message", "recording", "note", "note__author")


class InvalidCursor(ValueError):
    """A cursor that was not made by `Cursor.encode` (or was damaged on the way)."""


@dataclass(frozen=True)
class Cursor:
    """Where a list continues: the time and id of the last row shown, opaque to clients."""

    at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        raw = f"{self.at.isoformat()}|{self.id.hex}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> "Cursor":
        try:
            at, pk = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split("|")
            parsed = datetime.fromisoformat(at)
            if parsed.tzinfo is None:
                raise ValueError(at)
            return cls(parsed, uuid.UUID(hex=pk))
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidCursor(token) from exc


@dataclass(frozen=True)
class Page(Generic[Row]):
    rows: list[Row]
    next_cursor: Cursor | None


def _older(rows: QuerySet[Row], *, time_field: str, after: Cursor | None) -> QuerySet[Row]:
    """Rows after the cursor (older); the row comparison is one range on the (time, id) index."""
    if after is None:
        return rows
    table = rows.model._meta.db_table
    # Identifiers come from model metadata and the cursor's values are parameters: nothing of the
    # client's reaches the SQL text.
    older = RawSQL(  # noqa: S611
        f'("{table}"."{time_field}", "{table}"."id") < (%s, %s)',
        [after.at, after.id],
        output_field=BooleanField(),
    )
    return rows.filter(older)


def _first(rows: QuerySet[Row], *, time_field: str, size: int) -> Page[Row]:
    """The newest `size` rows, and the cursor that continues after them if there are more."""
    found = list(rows.order_by(f"-{time_field}", "-id")[: size + 1])
    last = found[size - 1] if len(found) > size else None
    return Page(found[:size], Cursor(getattr(last, time_field), last.pk) if last else None)


def _page(rows: QuerySet[Row], *, time_field: str, after: Cursor | None, size: int) -> Page[Row]:
    return _first(_older(rows, time_field=time_field, after=after), time_field=time_field, size=size)


def _with_preview(account: Account) -> QuerySet[Conversation]:
    """Conversations with their contact and newest item (what the inbox shows), in one query."""
    related = (f"last_item__{name}" for name in ITEM_RELATED)
    return Conversation.objects.for_account(account).select_related("contact", *related)


def conversation_list(
    *, account: Account, after: Cursor | None, size: int, unread_only: bool = False
) -> Page[Conversation]:
    """The inbox: threads by latest activity, each with its contact and newest item in the same query;
    with `unread_only`, those with calls or texts not read yet (after an alert to thousands, the
    threads someone answered), on an index of their own."""
    rows = _with_preview(account)
    if unread_only:
        rows = rows.filter(unread_count__gt=0)
    return _page(rows, time_field="last_activity_at", after=after, size=size)


def conversation_get(*, account: Account, sid: str) -> Conversation | None:
    conversation_id = sid_to_uuid(sid, Conversation.SID_PREFIX)
    if conversation_id is None:
        return None
    return _with_preview(account).filter(id=conversation_id).first()


def contact_get(*, account: Account, sid: str) -> Contact | None:
    contact_id = sid_to_uuid(sid, Contact.SID_PREFIX)
    return Contact.objects.for_account(account).filter(id=contact_id).first() if contact_id else None


def item_list(*, conversation: Conversation, after: Cursor | None, size: int) -> Page[Item]:
    """One page of a timeline, newest first: a single query on the `item_timeline` index."""
    rows = Item.objects.filter(account_id=conversation.account_id, conversation=conversation)
    return _page(rows.select_related(*ITEM_RELATED), time_field="occurred_at", after=after, size=size)


def item_search(*, account: Account, text: str, after: Cursor | None, size: int) -> Page[Item]:
    """Texts and notes matching a web-search style query (`"exact phrase" -word or`), newest first.

    Bodies are searched in the messages table itself (a redacted body is simply gone), each source
    on its GIN expression index; the page's items are then read with what they show in one query.
    """
    query = SearchQuery(text, config=SEARCH_CONFIG, search_type="websearch")
    matches = {
        "message": Message.objects.for_account(account).annotate(match=search_vector("body")),
        "note": Note.objects.for_account(account).annotate(match=search_vector("text")),
    }
    hits = [
        _older(
            Item.objects.for_account(account)
            .filter(**{f"{kind}__in": rows.filter(match=query).values("id")})
            .only("id", "occurred_at"),
            time_field="occurred_at",
            after=after,
        )
        for kind, rows in matches.items()
    ]
    page = _first(hits[0].union(*hits[1:], all=True), time_field="occurred_at", size=size)
    related = Item.objects.select_related("conversation__contact", *ITEM_RELATED)
    found = related.in_bulk([row.id for row in page.rows])
    return Page([found[row.id] for row in page.rows], page.next_cursor)
