"""Handing messages over to the carrier gateway: re-check queued messages and append them to their
connector's stream after commit, release scheduled ones when due, and the gateway's side: claim a
message once, give back a claim never taken, find the claims a stopped gateway left in flight.
"""

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from core.error_codes import ErrorCode
from core.sids import sid_to_uuid
from core.tenancy import tenant_scope
from messaging import consent, streams
from messaging.carriers.base import OutboundSms
from messaging.models import Connector, Media, Message, PendingMessage
from messaging.segments import carried_text
from messaging.status import ERROR_MESSAGES, callback_enqueue, messages_locked, status_advance
from numbering.models import IncomingPhoneNumber
from tenants.models import Account

log = logging.getLogger(__name__)

S = Message.Status


def _fail(message: Message, code: ErrorCode) -> bool:
    return status_advance(message, S.FAILED, error_code=code, error_message=ERROR_MESSAGES[code])


def _connector_names(messages: Sequence[Message]) -> dict[uuid.UUID, str | None]:
    """Each message's connector: its number's, else the default one; None while none is enabled.

    A number whose connector is disabled waits for it (no silent detour through another carrier).
    """
    enabled = dict(Connector.objects.filter(is_enabled=True).values_list("id", "name"))
    default = (
        Connector.objects.filter(is_enabled=True, is_default=True).values_list("name", flat=True).first()
    )
    chosen = dict(
        IncomingPhoneNumber.objects.filter(id__in={m.phone_number_id for m in messages}).values_list(
            "id", "sms_connector_id"
        )
    )
    names: dict[uuid.UUID, str | None] = {}
    for message in messages:
        connector_id = chosen.get(message.phone_number_id) if message.phone_number_id else None
        names[message.id] = enabled.get(connector_id) if connector_id else default
    return names


def _expired(message: Message, now: datetime) -> bool:
    return (message.send_at or message.date_created) + timedelta(seconds=message.validity_period) <= now


def message_send(*, account_id: uuid.UUID, message_ids: Sequence[uuid.UUID]) -> None:
    """Re-check queued messages and append them to their connector's stream after commit.

    Idempotent: only `queued` messages are considered, and handing one over twice is harmless because
    the gateway claims each SID once. One that expired or whose recipient opted out since it was
    created fails here; one without an enabled connector stays queued for the sweep to retry.
    """
    entries: dict[tuple[str, str], list[streams.HandOver]] = defaultdict(list)
    with tenant_scope(account_id):
        messages = messages_locked(message_ids, status=S.QUEUED)
        if not messages:
            return
        now = timezone.now()
        opted_out = consent.opted_out_pairs(
            account_id=account_id, pairs=((m.from_number, m.to_number) for m in messages)
        )
        names = _connector_names(messages)
        handed: dict[str | None, list[uuid.UUID]] = defaultdict(list)
        for message in messages:
            if _expired(message, now):
                _fail(message, ErrorCode.QUEUE_OVERFLOW)
            elif (message.from_number, message.to_number) in opted_out and not message.is_consent_reply:
                _fail(message, ErrorCode.UNSUBSCRIBED_RECIPIENT)
            else:
                name = names[message.id]
                handed[name].append(message.id)
                if name:
                    # A bulk alert's messages go in the connector's other stream, which the gateway
                    # reads beside this one: other traffic never waits behind a whole alert.
                    lane = streams.BULK if message.bulk_id else streams.SINGLE
                    entries[(name, lane)].append(_hand_over_entry(message, now))
        for name, ids in handed.items():
            Message.objects.filter(id__in=ids).update(connector=name or "", handed_over_at=now)
        if None in handed:
            log.warning(
                "no enabled carrier connector for %d queued message(s); will retry", len(handed[None])
            )
        transaction.on_commit(lambda: _publish(entries), robust=True)  # the sweep hands over again


def _hand_over_entry(message: Message, now: datetime) -> streams.HandOver:
    return streams.HandOver(
        sid=message.sid,
        account=str(message.account_id),
        from_=message.from_number,
        to=message.to_number,
        body=message.body,
        validity=_remaining_validity(message, now),
    )


def _remaining_validity(message: Message, now: datetime) -> int:
    end = (message.send_at or message.date_created) + timedelta(seconds=message.validity_period)
    return max(1, int((end - now).total_seconds()))


def _publish(entries: dict[tuple[str, str], list[streams.HandOver]]) -> None:
    for (name, lane), batch in entries.items():
        streams.hand_over(name, batch, lane=lane)


def message_release_due(*, account_id: uuid.UUID, message_ids: Sequence[uuid.UUID]) -> None:
    """Scheduled messages whose SendAt has come: queued (with their callback), then handed over."""
    with tenant_scope(account_id):
        due = messages_locked(message_ids, status=S.SCHEDULED, send_at__lte=timezone.now())
        for message in due:
            status_advance(message, S.QUEUED)
        if due:
            message_send(account_id=account_id, message_ids=[m.id for m in due])


@dataclass(frozen=True)
class Claimed:
    account_id: uuid.UUID
    connector: str
    sms: OutboundSms


def message_claim(*, account_id: uuid.UUID, message_ids: Sequence[uuid.UUID], gateway: str) -> list[Claimed]:
    """Claim queued, unexpired messages for submission: `queued -> sending` in one conditional UPDATE.

    Only the rows this statement changed come back, so however often a message was handed over, and
    however many gateways read its stream, it is submitted once. Returned in the order given.
    """
    with tenant_scope(account_id), connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {Message._meta.db_table}
               SET status = 'sending', gateway = %s, handed_over_at = now(), date_updated = now()
             WHERE id = ANY(%s) AND status = 'queued'
               AND COALESCE(send_at, date_created) + validity_period * interval '1 second' > now()
            RETURNING id
            """,
            [gateway, list(message_ids)],
        )
        claimed = {row[0] for row in cursor.fetchall()}
        if not claimed:
            return []
        messages = {m.id: m for m in Message.objects.filter(id__in=claimed)}
        account = Account.objects.get(id=account_id)
        for message in messages.values():
            callback_enqueue(message, account)
        return _outbound(account_id, [messages[i] for i in message_ids if i in messages])


def _outbound(account_id: uuid.UUID, messages: Sequence[Message]) -> list[Claimed]:
    media: dict[uuid.UUID, list[str]] = defaultdict(list)
    with_media = [m.id for m in messages if m.num_media]
    for message_id, url in (
        Media.objects.filter(message_id__in=with_media)
        .order_by("date_created")
        .values_list("message_id", "url")
    ):
        media[message_id].append(url)
    now = timezone.now()
    return [
        Claimed(
            account_id,
            m.connector,
            OutboundSms(
                message_sid=m.sid,
                from_number=m.from_number,
                to=m.to_number,
                body=carried_text(m.body, media[m.id]),
                validity_period=_remaining_validity(m, now),
            ),
        )
        for m in messages
    ]


def messages_in_flight(*, gateway: str) -> list[Claimed]:
    """Messages this gateway claimed but never saw submitted (it stopped or died): to submit again.

    This is the one window where a message may reach the carrier twice: submitted just before the
    gateway died, before the carrier's answer was recorded.
    """
    by_account: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for row in PendingMessage.objects.filter(status=S.SENDING, gateway=gateway).order_by("since"):
        by_account[row.account_id].append(row.message_id)
    claimed: list[Claimed] = []
    for account_id, ids in by_account.items():
        with tenant_scope(account_id):
            messages = messages_locked(ids, status=S.SENDING, gateway=gateway)
            claimed += _outbound(account_id, messages)
    return claimed


def message_unclaim(*, account_id: uuid.UUID, message_id: uuid.UUID, gateway: str) -> None:
    """Give back a claim the connector never took (its `send` failed), for the sweep to hand over again.

    The one move backwards, and only from this gateway's own `sending`.
    """
    with tenant_scope(account_id):
        Message.objects.filter(id=message_id, status=S.SENDING, gateway=gateway).update(
            status=S.QUEUED, gateway="", handed_over_at=timezone.now()
        )


def accounts_of_pending(message_sids: Iterable[str]) -> dict[str, uuid.UUID]:
    """The accounts of messages still owed work, from the global table (no tenant needed)."""
    ids = {sid_to_uuid(sid, Message.SID_PREFIX): sid for sid in message_sids}
    ids.pop(None, None)
    rows = PendingMessage.objects.filter(message_id__in=list(ids)).values_list("message_id", "account_id")
    return {ids[message_id]: account_id for message_id, account_id in rows}
