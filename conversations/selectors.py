"""Reads: the inbox, one conversation, a timeline page, and full-text search, each by keyset.

Every list is newest first by a (timestamp, id) pair and continues from an opaque cursor that
names the last row shown (core/paging.py), so each page is one indexed range scan however deep it is.
A cursor this module did not make raises `core.paging.InvalidCursor`.
"""

from django.contrib.postgres.search import SearchQuery
from django.db.models import QuerySet

from conversations.models import SEARCH_CONFIG, Contact, Conversation, Item, Note, search_vector
from core.paging import Keyset, Page
from core.sids import sid_to_uuid
from messaging.models import Message
from tenants.models import Account

# What every timeline row shows, fetched in the page's one query.
ITEM_RELATED = ("call", "message", "recording", "note", "note__author", "agent_turn")
INBOX = Keyset(Conversation, ("last_activity_at", "id"))
TIMELINE = Keyset(Item, ("occurred_at", "id"))


def _with_preview(account: Account) -> QuerySet[Conversation]:
    """Conversations with their contact and newest item (what the inbox shows), in one query."""
    related = (f"last_item__{name}" for name in ITEM_RELATED)
    return Conversation.objects.for_account(account).select_related("contact", *related)


def conversation_list(
    *, account: Account, after: str | None, size: int, unread_only: bool = False
) -> Page[Conversation]:
    """The inbox: threads by latest activity, each with its contact and newest item in the same query;
    with `unread_only`, those with calls or texts not read yet (after an alert to thousands, the
    threads someone answered), on an index of their own."""
    rows = _with_preview(account)
    if unread_only:
        rows = rows.filter(unread_count__gt=0)
    return INBOX.page(rows, cursor=after, size=size)


def conversation_get(*, account: Account, sid: str) -> Conversation | None:
    conversation_id = sid_to_uuid(sid, Conversation.SID_PREFIX)
    if conversation_id is None:
        return None
    return _with_preview(account).filter(id=conversation_id).first()


def contact_get(*, account: Account, sid: str) -> Contact | None:
    contact_id = sid_to_uuid(sid, Contact.SID_PREFIX)
    return Contact.objects.for_account(account).filter(id=contact_id).first() if contact_id else None


def item_list(*, conversation: Conversation, after: str | None, size: int) -> Page[Item]:
    """One page of a timeline, newest first: a single query on the `item_timeline` index."""
    rows = Item.objects.filter(account_id=conversation.account_id, conversation=conversation)
    return TIMELINE.page(rows.select_related(*ITEM_RELATED), cursor=after, size=size)


def item_search(*, account: Account, text: str, after: str | None, size: int) -> Page[Item]:
    """Texts and notes matching a web-search style query (`"exact phrase" -word or`), newest first.

    Bodies are searched in the messages table itself (a redacted body is simply gone), each source
    on its GIN expression index; the page's items are then read with what they show in one query.
    """
    query = SearchQuery(text, config=SEARCH_CONFIG, search_type="websearch")
    matches = {
        "message": Message.objects.for_account(account).annotate(match=search_vector("body")),
        "note": Note.objects.for_account(account).annotate(match=search_vector("text")),
    }
    hits: list[QuerySet[Item]] = [
        Item.objects.for_account(account)
        .filter(**{f"{kind}__in": rows.filter(match=query).values("id")})
        .only("id", "occurred_at")
        for kind, rows in matches.items()
    ]
    if after:
        position = TIMELINE.decode(after)
        hits = [TIMELINE.beyond(hit, position) for hit in hits]
    shown, more = TIMELINE.read(hits[0].union(*hits[1:], all=True), size=size)
    related = Item.objects.select_related("conversation__contact", *ITEM_RELATED).in_bulk(
        [row.id for row in shown]
    )
    return Page([related[row.id] for row in shown], TIMELINE.cursor(shown[-1]) if more else None)
