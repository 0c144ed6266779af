"""A call's timeline: the events noted while it runs, and its runtime errors (also in the
account's error log, Twilio's debugger)."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from core.tenancy import tenant_scope
from monitor.models import Notification
from monitor.notifications import notification_record
from voice.models import Call, CallEvent


def event_add(call: Call, kind: str, name: str, detail: dict[str, Any], at: datetime | None = None) -> None:
    """One event now (or `at`), inside the call's tenant scope."""
    CallEvent.objects.create(
        account_id=call.account_id,
        call=call,
        kind=kind,
        name=name,
        detail=detail,
        date_created=at or timezone.now(),
    )


@dataclass(frozen=True)
class TimelineEntry:
    """A timeline event the worker noted during a call, written later with the call's next write."""

    kind: str
    name: str
    detail: dict[str, Any]
    at: datetime


def timeline_insert(account_id: uuid.UUID, call_id: uuid.UUID, entries: Sequence[TimelineEntry]) -> None:
    """Noted events in one statement, inside the call's tenant scope."""
    CallEvent.objects.bulk_create(
        CallEvent(
            account_id=account_id,
            call_id=call_id,
            kind=e.kind,
            name=e.name,
            detail=e.detail,
            date_created=e.at,
        )
        for e in entries
    )


def call_events_add(*, account_id: uuid.UUID, call_id: uuid.UUID, entries: Sequence[TimelineEntry]) -> None:
    """Add entries to a call's timeline in their own transaction (the ARI worker's, as its call moves)."""
    with tenant_scope(account_id):
        timeline_insert(account_id, call_id, entries)


def call_error(
    *,
    account_id: uuid.UUID,
    call_id: uuid.UUID,
    code: int,
    message: str,
    url: str = "",
    method: str = "",
    warning: bool = False,
    entries: Sequence[TimelineEntry] = (),
    at: datetime | None = None,
) -> None:
    """A runtime error for the call's timeline and the account's error log (Twilio's debugger).

    `entries` are timeline events noted before it, written first in the same transaction; `at` is
    when the error happened (the worker writes it later).
    """
    with tenant_scope(account_id):
        timeline_insert(account_id, call_id, entries)
        call = Call.objects.get(id=call_id)
        event_add(call, CallEvent.Kind.ERROR, str(code), {"message": message, "url": url}, at)
        notification_record(
            account_id=account_id,
            error_code=code,
            message=message,
            call_sid=call.sid,
            request_url=url,
            request_method=method,
            log=Notification.Log.WARNING if warning else Notification.Log.ERROR,
        )
