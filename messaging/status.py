"""A message's status: it only moves forward (`RANK`), so a late `sent` never overwrites `delivered`,
and every move queues the message's status callback through the webhook outbox in the same
transaction. The create, hand-over, receipt and API modules move statuses through these functions;
each runs in its caller's transaction, scoped to the message's account.
"""

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from django.utils import timezone

from core.error_codes import ErrorCode
from messaging.models import Message
from monitor.outbox import webhook_enqueue
from tenants.models import Account

S = Message.Status
RANK: dict[str, int] = {
    S.ACCEPTED: 0,
    S.SCHEDULED: 0,
    S.RECEIVING: 0,
    S.QUEUED: 1,
    S.SENDING: 2,
    S.SENT: 3,
    S.DELIVERED: 4,
    S.UNDELIVERED: 4,
    S.FAILED: 4,
    S.CANCELED: 4,
    S.RECEIVED: 4,
}
ERROR_MESSAGES: dict[int, str] = {
    ErrorCode.UNSUBSCRIBED_RECIPIENT: "Attempt to send to unsubscribed recipient",
    ErrorCode.QUEUE_OVERFLOW: "Queue overflow: the message was not sent within its validity period",
    ErrorCode.ACCOUNT_SUSPENDED: "Account suspended: the message was kept, not sent to the SMS webhook",
    ErrorCode.UNREACHABLE_DESTINATION_HANDSET: "Unreachable destination handset",
    ErrorCode.UNKNOWN_DESTINATION_HANDSET: "Unknown destination handset",
    ErrorCode.LANDLINE_OR_UNREACHABLE_CARRIER: "Landline or unreachable carrier",
    ErrorCode.MESSAGE_FILTERED: "Message filtered by the carrier",
    ErrorCode.UNKNOWN_ERROR: "Unknown error",
}

# Messages changed by `status_apply` and not saved yet: each with its fields changed and whether its
# status moved (which queues its callback).
Moves = dict[uuid.UUID, tuple[Message, set[str], bool]]


def status_params(message: Message, account_sid: str) -> dict[str, str]:
    """Twilio's status callback parameters for the message as it is now."""
    params = {
        "MessageSid": message.sid,
        "SmsSid": message.sid,
        "MessageStatus": message.status,
        "SmsStatus": message.status,
        "AccountSid": account_sid,
        "From": message.from_number,
        "To": message.to_number,
        "ApiVersion": "2010-04-01",
    }
    if message.messaging_service_sid:
        params["MessagingServiceSid"] = message.messaging_service_sid
    if message.error_code:
        params["ErrorCode"] = str(message.error_code)
    return params


def callback_enqueue(message: Message, account: Account | None = None) -> None:
    """Queue the message's status callback, if it has one, for its status as it is now."""
    if not message.status_callback:
        return
    account = account or Account.objects.get(id=message.account_id)
    webhook_enqueue(
        account=account,
        url=message.status_callback,
        method=message.status_callback_method,
        params=status_params(message, account.sid),
    )


def status_apply(
    message: Message, status: str, *, regardless: dict[str, Any] | None = None, **with_status: Any
) -> tuple[list[str], bool]:
    """Set `status` (with `with_status`) on the locked message if it moves it forward, and `regardless`
    either way; returns the fields changed and whether the status moved. Saves nothing."""
    moved = RANK[status] > RANK[message.status]
    changes = {**(regardless or {}), **(with_status if moved else {})}
    if moved:
        changes["status"] = status
    if not changes:
        return [], False
    changes["date_updated"] = timezone.now()
    for name, value in changes.items():
        setattr(message, name, value)
    return list(changes), moved


def status_advance(
    message: Message,
    status: str,
    account: Account | None = None,
    *,
    regardless: dict[str, Any] | None = None,
    **with_status: Any,
) -> bool:
    """Move the (locked) message forward to `status` and save; `regardless` is saved either way.
    False, and no callback, when `status` is not ahead of where the message is."""
    fields, moved = status_apply(message, status, regardless=regardless, **with_status)
    if fields:
        message.save(update_fields=fields)
    if moved:
        callback_enqueue(message, account)
    return moved


def moves_save(changed: Moves, account_id: uuid.UUID) -> None:
    """Save many messages changed by `status_apply` in one UPDATE, then queue the callbacks of those
    that moved."""
    if not changed:
        return
    fields = set().union(*(f for _, f, _ in changed.values()))
    _update_rows([m for m, _, _ in changed.values()], sorted(fields))
    moved = [m for m, _, did_move in changed.values() if did_move and m.status_callback]
    account = Account.objects.get(id=account_id) if moved else None
    for message in moved:
        callback_enqueue(message, account)


UPDATE_ROWS = 2000  # messages per UPDATE statement in _update_rows (PostgreSQL's limit is 65,535 parameters)


def _update_rows(messages: Sequence[Message], fields: Sequence[str]) -> None:
    """What `bulk_update` does, as UPDATE ... FROM (VALUES ...): Django builds a CASE WHEN per row and
    field, which took most of the carrier gateway writer's CPU (and so capped a bulk alert's rate)."""
    by_name = {f.name: f for f in Message._meta.concrete_fields}
    model_fields = [by_name[name] for name in fields]
    # Columns and types come from model metadata; every value is a parameter.
    row = ", ".join(["%s::uuid", *(f"%s::{f.db_type(connection)}" for f in model_fields)])
    columns = ", ".join(str(f.column) for f in model_fields)
    assignments = ", ".join(f"{f.column} = v.{f.column}" for f in model_fields)
    with connection.cursor() as cursor:
        for start in range(0, len(messages), UPDATE_ROWS):
            batch = messages[start : start + UPDATE_ROWS]
            params = [
                value
                for m in batch
                for value in (
                    m.id,
                    *(f.get_db_prep_save(getattr(m, f.attname), connection) for f in model_fields),
                )
            ]
            cursor.execute(
                f"UPDATE {Message._meta.db_table} AS m SET {assignments} "
                f"FROM (VALUES {', '.join(f'({row})' for _ in batch)}) AS v(id, {columns}) WHERE m.id = v.id",
                params,
            )


def messages_locked(ids: Iterable[uuid.UUID], **filters: Any) -> list[Message]:
    """The messages among `ids` matching `filters`, locked until the caller's transaction ends, oldest
    first."""
    return list(
        Message.objects.select_for_update().filter(id__in=list(ids), **filters).order_by("date_created")
    )
