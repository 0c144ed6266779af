"""Reads of bulk alerts: one bulk, an account's bulks (newest first) and a bulk's recipients (by number).

Both lists page by keyset (core/paging.py) from an opaque cursor that names the last row shown, so
every page is one indexed range however deep it is: bulks by (date_created, id), recipients by
number, which is unique within a bulk (duplicates never became messages). A cursor this module did
not make raises `core.paging.InvalidCursor`.
"""

import uuid
from typing import Any

from core.paging import Keyset, Page
from core.sids import sid_to_uuid
from core.tenancy import tenant_scope
from messaging.models import Bulk, Message
from tenants.models import Account

BULKS = Keyset(Bulk)
RECIPIENTS = Keyset(Message, ("to_number",), descending=False)


def bulk_get(*, account: Account, sid: str) -> Bulk | None:
    bulk_id = sid_to_uuid(sid, Bulk.SID_PREFIX)
    return Bulk.objects.for_account(account).filter(id=bulk_id).first() if bulk_id else None


def bulk_list(*, account: Account, after: str | None, size: int) -> Page[Bulk]:
    """The account's bulks, newest first (without their recipient lists, which can be long)."""
    rows = Bulk.objects.for_account(account).defer("invalid_recipients", "opted_out_recipients")
    return BULKS.page(rows, cursor=after, size=size)


def bulk_recipient_list(*, bulk: Bulk, status: str | None, after: str | None, size: int) -> Page[Message]:
    """A bulk's messages in number order, all or those in one status."""
    rows = Message.objects.filter(account_id=bulk.account_id, bulk=bulk).only(
        "id", "to_number", "status", "error_code", "error_message", "date_sent", "date_updated", "account_id"
    )
    if status:
        rows = rows.filter(status=status)
    return RECIPIENTS.page(rows, cursor=after, size=size)


PROGRESS_COUNTS = (
    "num_messages",
    "num_queued",
    "num_sent",
    "num_delivered",
    "num_undelivered",
    "num_failed",
    "num_canceled",
)


def bulk_progress(bulk: Bulk) -> dict[str, Any]:
    """What a progress bar shows: the counts, and how many messages are done (answered by the carrier,
    failed or canceled: no longer queued), as a whole percentage that is 100 only when all are."""
    done = bulk.num_messages - bulk.num_queued
    return {
        "sid": bulk.sid,
        "status": bulk.status,
        **{name: getattr(bulk, name) for name in PROGRESS_COUNTS},
        "num_done": done,
        "percent": 100 * done // bulk.num_messages if bulk.num_messages else 100,
    }


def bulk_progress_get(*, account_id: uuid.UUID, bulk_id: uuid.UUID) -> dict[str, Any] | None:
    """A bulk's progress, read in its tenant's scope (for processes without a request: websockets)."""
    with tenant_scope(account_id):
        bulk = Bulk.objects.filter(id=bulk_id).only("id", "status", *PROGRESS_COUNTS).first()
        return bulk_progress(bulk) if bulk else None
