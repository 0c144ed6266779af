"""What carriers report of the messages handed to them: submission outcomes (`sent` with the
carrier's ids, or `failed` with its code) and delivery receipts, recorded per tenant in one
transaction each, statuses only moving forward (messaging/status.py).
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone

from core.error_codes import ErrorCode
from core.sids import sid_to_uuid
from core.tenancy import tenant_scope
from messaging.carriers.base import DeliveryReceipt
from messaging.models import CarrierRoute, Message
from messaging.status import ERROR_MESSAGES, Moves, messages_locked, moves_save, status_apply

S = Message.Status


@dataclass(frozen=True)
class SubmitOutcome:
    """What a connector said of one submission: accepted (its carrier ids) or refused (a 30xxx code)."""

    message_sid: str
    carrier_message_ids: tuple[str, ...] = ()
    error_code: int | None = None
    detail: str = ""


def messages_submit_outcomes(
    *, account_id: uuid.UUID, connector: str, outcomes: Sequence[SubmitOutcome]
) -> None:
    """Record one tenant's submission outcomes in one transaction: `sent` with the carrier's ids (which
    route the receipts back), or `failed` with the carrier's code."""
    with tenant_scope(account_id):
        ids = {o.message_sid: sid_to_uuid(o.message_sid, Message.SID_PREFIX) for o in outcomes}
        locked = {m.id: m for m in messages_locked(i for i in ids.values() if i)}
        changed: Moves = {}
        now = timezone.now()
        for outcome in outcomes:
            message_id = ids[outcome.message_sid]
            message = locked.get(message_id) if message_id else None
            if message is None:
                continue
            if outcome.error_code is None:
                regardless = {
                    "carrier_message_ids": list(outcome.carrier_message_ids),
                    "connector": connector,
                }
                fields, moved = status_apply(message, S.SENT, regardless=regardless, date_sent=now)
            else:
                fields, moved = status_apply(
                    message,
                    S.FAILED,
                    error_code=outcome.error_code,
                    error_message=outcome.detail
                    or ERROR_MESSAGES.get(outcome.error_code, ERROR_MESSAGES[ErrorCode.UNKNOWN_ERROR]),
                )
            _merge(changed, message, fields, moved)
        moves_save(changed, account_id)


def _merge(changed: Moves, message: Message, fields: list[str], moved: bool) -> None:
    if fields:
        _, before, was_moved = changed.get(message.id, (message, set(), False))
        changed[message.id] = (message, before | set(fields), was_moved or moved)


def messages_receipts(
    *, receipts: Sequence[tuple[str, DeliveryReceipt]]
) -> list[tuple[str, DeliveryReceipt]]:
    """Apply (connector, receipt) pairs in order, one transaction per tenant; returns those whose carrier
    id no message has (yet).

    A message is `delivered` once every segment is; the first segment that is not makes the whole
    message `undelivered` or `failed` with the carrier's error code.
    """
    routes = {
        (r.connector, r.carrier_message_id): r
        for r in CarrierRoute.objects.filter(
            # Both columns of the unique index: by carrier id alone it was a scan of every route.
            connector__in={c for c, _ in receipts},
            carrier_message_id__in={r.carrier_message_id for _, r in receipts},
        )
    }
    unrouted: list[tuple[str, DeliveryReceipt]] = []
    by_account: dict[uuid.UUID, list[tuple[uuid.UUID, DeliveryReceipt]]] = defaultdict(list)
    for connector, receipt in receipts:
        route = routes.get((connector, receipt.carrier_message_id))
        if route is None:
            unrouted.append((connector, receipt))
        else:
            by_account[route.account_id].append((route.message_id, receipt))
    for account_id, items in by_account.items():
        with tenant_scope(account_id):
            locked = {m.id: m for m in messages_locked({message_id for message_id, _ in items})}
            changed: Moves = {}
            for message_id, receipt in items:
                if message_id in locked:
                    _merge(changed, locked[message_id], *_apply_receipt(locked[message_id], receipt))
            moves_save(changed, account_id)
    return unrouted


def _apply_receipt(message: Message, receipt: DeliveryReceipt) -> tuple[list[str], bool]:
    receipts = {**message.segment_receipts, receipt.carrier_message_id: receipt.status}
    if receipt.status != S.DELIVERED:
        code = receipt.error_code or ErrorCode.UNKNOWN_ERROR
        return status_apply(
            message,
            receipt.status,
            regardless={"segment_receipts": receipts},
            error_code=code,
            error_message=ERROR_MESSAGES.get(code, ERROR_MESSAGES[ErrorCode.UNKNOWN_ERROR]),
        )
    if all(receipts.get(i) == S.DELIVERED for i in message.carrier_message_ids):
        return status_apply(message, S.DELIVERED, regardless={"segment_receipts": receipts})
    return status_apply(message, message.status, regardless={"segment_receipts": receipts})
