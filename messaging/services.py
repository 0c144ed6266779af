"""Every write about messages: create (validated), hand over to a carrier, claim, the carrier's reports,
inbound messages with their consent keywords, scheduling, cancel, redact and delete.

Functions that take an `account_id` open their own tenant-scoped transaction (Celery tasks, the
carrier gateway); those that take a model run in the caller's (an API request). Statuses only move
forward (`RANK`): a late `sent` never overwrites `delivered`, and every move queues the message's
status callback through the webhook outbox in the same transaction. The validators are small
functions of their own so that a bulk sender can apply them to a list without creating one by one.
"""

import logging
import mimetypes
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from compliance.services import AuditDraft, audit_record, audit_record_many
from conversations.services import conversation_log_message, timeline_add_messages
from core.errors import TwilioError
from core.inserts import insert_sql
from core.phone import to_e164
from core.sids import SID_RE, sid_to_uuid
from core.tenancy import tenant_scope
from messaging import consent, streams
from messaging.carriers.base import DeliveryReceipt, InboundSms, OutboundSms
from messaging.models import CarrierRoute, Connector, Media, Message, PendingMessage
from messaging.segments import segment
from monitor.services import notification_record, webhook_enqueue
from numbering.models import IncomingPhoneNumber, NumberRoute
from tenants.models import Account
from tenants.selectors import account_status_in_effect
from voice.models import Call

log = logging.getLogger(__name__)

MAX_BODY_CHARS = 1600
MAX_MEDIA = 10
DEFAULT_VALIDITY_SECONDS = 36000
# Twilio's scheduling window (error 35114); Twilio also wants a Messaging Service, we do not have any.
SEND_AT_EARLIEST = timedelta(seconds=300)
SEND_AT_LATEST = timedelta(days=35)

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
ERROR_MESSAGES = {
    21610: "Attempt to send to unsubscribed recipient",
    30001: "Queue overflow: the message was not sent within its validity period",
    30002: "Account suspended: the message was kept, not sent to the SMS webhook",
    30003: "Unreachable destination handset",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered by the carrier",
    30008: "Unknown error",
}


# Validation ---------------------------------------------------------------------------------------


def recipient_validate(to: str) -> str:
    """The recipient in E.164 (21604 when missing, 21211 when not a valid number)."""
    if not to:
        raise TwilioError(21604, "A 'To' phone number is required.", 400)
    e164 = to_e164(to)
    if e164 is None:
        raise TwilioError(21211, f"The 'To' number {to} is not a valid phone number.", 400)
    return e164


def _senders(account: Account, from_values: Iterable[str | None]) -> dict[str, IncomingPhoneNumber]:
    """The account's numbers among `from_values` (as given or in E.164), in one query."""
    wanted = {to_e164(value) or value for value in from_values if value}
    numbers = IncomingPhoneNumber.objects.filter(account=account, phone_number__in=wanted) if wanted else []
    return {number.phone_number: number for number in numbers}


def _sender_pick(
    numbers: dict[str, IncomingPhoneNumber], *, from_: str | None, messaging_service_sid: str | None
) -> IncomingPhoneNumber:
    """The number a message leaves from, among the account's (21603 none given, 21606 not the account's).

    Switchboard has no Messaging Services, so a MessagingServiceSid is kept on the message but a
    sender must still be named with From.
    """
    if messaging_service_sid and not (
        SID_RE.match(messaging_service_sid) and messaging_service_sid[:2] == "MG"
    ):
        raise TwilioError(21705, f"The Messaging Service Sid {messaging_service_sid} is invalid.", 400)
    if not from_:
        raise TwilioError(21603, "A 'From' phone number is required.", 400)
    number = numbers.get(to_e164(from_) or from_)
    if number is None:
        raise TwilioError(
            21606,
            f"The From phone number {from_} is not a valid, SMS-capable inbound phone number "
            "or short code for your account.",
            400,
        )
    return number


def sender_get(
    *, account: Account, from_: str | None, messaging_service_sid: str | None
) -> IncomingPhoneNumber:
    """The account's number a message leaves from; see `_sender_pick` for the errors."""
    return _sender_pick(_senders(account, [from_]), from_=from_, messaging_service_sid=messaging_service_sid)


def content_validate(*, body: str, media_urls: Sequence[str]) -> None:
    if not body and not media_urls:
        raise TwilioError(21602, "Message body is required.", 400)
    if len(body) > MAX_BODY_CHARS:
        raise TwilioError(21617, "The concatenated message body exceeds the 1600 character limit.", 400)
    if len(media_urls) > MAX_MEDIA:
        raise TwilioError(21623, f"Too many media URLs: at most {MAX_MEDIA} per message.", 400)
    for url in media_urls:
        if not url.lower().startswith(("http://", "https://")):
            raise TwilioError(
                21620, f"Media urls: {url} are invalid. Please use only valid http and https urls", 400
            )


def validity_validate(seconds: int | None) -> int:
    if seconds is None:
        return DEFAULT_VALIDITY_SECONDS
    if not 1 <= seconds <= DEFAULT_VALIDITY_SECONDS:
        raise TwilioError(21624, "ValidityPeriod must be between 1 and 36000 seconds.", 400)
    return seconds


def send_at_validate(send_at: datetime, *, now: datetime) -> None:
    if not now + SEND_AT_EARLIEST <= send_at <= now + SEND_AT_LATEST:
        raise TwilioError(
            35114, "SendAt time must be between 300 seconds and 35 days (3024000 seconds) in the future.", 400
        )


# Creating -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MessageDraft:
    """An outbound message as asked for (the Messages API's create parameters), not yet validated.

    `actor` is who asks, for the audit trail; `call` links a text sent by a call's <Sms>.
    """

    to: str
    actor: str
    from_: str | None = None
    messaging_service_sid: str | None = None
    body: str = ""
    media_urls: Sequence[str] = ()
    status_callback: str = ""
    status_callback_method: str = "POST"
    send_at: datetime | None = None
    validity_period: int | None = None
    direction: str = Message.Direction.OUTBOUND_API
    call: Call | None = None


@dataclass(frozen=True)
class _Valid:
    """A draft that passed every check: its recipient in E.164, the sender's number, its validity."""

    draft: MessageDraft
    to: str
    number: IncomingPhoneNumber
    validity: int = DEFAULT_VALIDITY_SECONDS
    is_consent_reply: bool = False


def _validate(draft: MessageDraft, numbers: dict[str, IncomingPhoneNumber], *, now: datetime) -> _Valid:
    """Every check but consent, in the order that decides which error a draft with several faults gets."""
    to = recipient_validate(draft.to)
    number = _sender_pick(numbers, from_=draft.from_, messaging_service_sid=draft.messaging_service_sid)
    content_validate(body=draft.body, media_urls=draft.media_urls)
    validity = validity_validate(draft.validity_period)
    if draft.send_at is not None:
        send_at_validate(draft.send_at, now=now)
    return _Valid(draft=draft, to=to, number=number, validity=validity)


def _consent_filter(account: Account, checked: list[_Valid | TwilioError]) -> list[_Valid | TwilioError]:
    """Replace the drafts to opted-out recipients with 21610: one query per sender in the list."""
    by_sender: defaultdict[str, set[str]] = defaultdict(set)
    for item in checked:
        if isinstance(item, _Valid):
            by_sender[item.number.phone_number].add(item.to)
    opted_out = {
        (sender, recipient)
        for sender, recipients in by_sender.items()
        for recipient in consent.opted_out_among(account_id=account.id, sender=sender, recipients=recipients)
    }
    return [
        TwilioError(21610, ERROR_MESSAGES[21610], 400)
        if isinstance(item, _Valid) and (item.number.phone_number, item.to) in opted_out
        else item
        for item in checked
    ]


def messages_create(*, account: Account, drafts: Sequence[MessageDraft]) -> list[Message | TwilioError]:
    """Validate and queue (or schedule) outbound messages of one account, in the caller's
    transaction, which must be scoped to the account (`message_create` opens one).

    Each draft is checked exactly as `message_create` checks one; a refused draft gets its
    TwilioError in its place and stores nothing, the others are stored. The statements are per list,
    not per message, which is what lets the Messages API accept many a second (messaging/api/lane.py).
    """
    now = timezone.now()
    numbers = _senders(account, (draft.from_ for draft in drafts))
    checked: list[_Valid | TwilioError] = []
    for draft in drafts:
        try:
            checked.append(_validate(draft, numbers, now=now))
        except TwilioError as error:
            checked.append(error)
    checked = _consent_filter(account, checked)
    stored = iter(_store(account, [item for item in checked if isinstance(item, _Valid)]))
    return [next(stored) if isinstance(item, _Valid) else item for item in checked]


def message_create(*, account: Account, draft: MessageDraft) -> Message:
    """Validate and queue (or schedule) one outbound message; raises TwilioError for refused input,
    with nothing stored.

    The send task is queued once the transaction commits; the gateway's sweep hands the message over
    anyway if that task is lost.
    """
    with tenant_scope(account.id):
        (result,) = messages_create(account=account, drafts=[draft])
    if isinstance(result, TwilioError):
        raise result
    return result


def message_create_for_call(
    *, account_id: uuid.UUID, call_id: uuid.UUID, to: str, from_: str, body: str, status_callback: str
) -> str:
    """The <Sms> verb: queue a text on the call's behalf and return its SID.

    It is an ordinary message (direction outbound-call, linked to the call), so it lands in the same
    conversation as the call, and the caller's replies follow it there. Raises TwilioError (21211,
    21606, 21610, ...) when messaging refuses it; nothing is stored then.
    """
    with tenant_scope(account_id):
        call = Call.objects.get(id=call_id)
        draft = MessageDraft(
            to=to,
            from_=from_,
            body=body,
            status_callback=status_callback,
            direction=Message.Direction.OUTBOUND_CALL,
            call=call,
            actor=f"call:{call.sid}",
        )
        message = message_create(account=Account.objects.get(id=account_id), draft=draft)
        return str(message.sid)


def carried_text(body: str, media_urls: Sequence[str]) -> str:
    """What the carrier gets: SMS carries no media, so their URLs follow the body as links."""
    return "\n".join(filter(None, [body, *media_urls]))


def _store(account: Account, valid: Sequence[_Valid]) -> list[Message]:
    """Insert validated messages with their media, status callbacks, timeline items and audit entries,
    in the caller's transaction; their send tasks are queued after commit."""
    from messaging.tasks import message_send_soon

    messages = []
    for item in valid:
        draft = item.draft
        counted = segment(carried_text(draft.body, draft.media_urls))
        messages.append(
            Message(
                account=account,
                direction=draft.direction,
                from_number=item.number.phone_number,
                to_number=item.to,
                body=draft.body,
                status=S.SCHEDULED if draft.send_at else S.QUEUED,
                encoding=counted.encoding,
                num_segments=counted.num_segments,
                num_media=len(draft.media_urls),
                messaging_service_sid=draft.messaging_service_sid or "",
                status_callback=draft.status_callback,
                status_callback_method=draft.status_callback_method,
                send_at=draft.send_at,
                validity_period=item.validity,
                phone_number=item.number,
                call=draft.call,
                is_consent_reply=item.is_consent_reply,
            )
        )
    if not messages:
        return []
    with connection.cursor() as cursor:
        cursor.execute(*insert_sql(Message, messages))
    _media_add([(message, item.draft.media_urls) for message, item in zip(messages, valid, strict=True)])
    for message in messages:
        _callback(message, account)
    # In this transaction rather than one of its own after commit: the thread's row is written either
    # way, and a second transaction per message cost as much as the rest of an API create.
    timeline_add_messages(account_id=account.id, messages=messages)
    # Last: the audit append locks the account's chain head until commit, and every other create of
    # the account waits for that lock.
    audit_record_many(
        account_id=account.id,
        entries=[
            AuditDraft(
                actor=item.draft.actor,
                action="message.create",
                object_sid=message.sid,
                payload={
                    "to": message.to_number,
                    "from": message.from_number,
                    "direction": message.direction,
                    "num_segments": message.num_segments,
                    "num_media": message.num_media,
                    "send_at": message.send_at.isoformat() if message.send_at else "",
                },
            )
            for message, item in zip(messages, valid, strict=True)
        ],
    )
    for message in messages:
        if message.status == S.QUEUED:
            transaction.on_commit(partial(message_send_soon, account.id, message.id))
    return messages


def _media_add(pairs: Sequence[tuple[Message, Sequence[str]]]) -> None:
    """Store each message's media URLs, for all the messages in one statement."""
    Media.objects.bulk_create(
        Media(
            account_id=message.account_id,
            message=message,
            url=url,
            content_type=mimetypes.guess_type(url.split("?")[0])[0] or "application/octet-stream",
        )
        for message, urls in pairs
        for url in urls
    )


# Status and callbacks -----------------------------------------------------------------------------


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


def _callback(message: Message, account: Account | None = None) -> None:
    if not message.status_callback:
        return
    account = account or Account.objects.get(id=message.account_id)
    webhook_enqueue(
        account=account,
        url=message.status_callback,
        method=message.status_callback_method,
        params=status_params(message, account.sid),
    )


def _apply(
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


def _advance(
    message: Message,
    status: str,
    account: Account | None = None,
    *,
    regardless: dict[str, Any] | None = None,
    **with_status: Any,
) -> bool:
    """Move the (locked) message forward to `status` and save; `regardless` is saved either way.
    False, and no callback, when `status` is not ahead of where the message is."""
    fields, moved = _apply(message, status, regardless=regardless, **with_status)
    if fields:
        message.save(update_fields=fields)
    if moved:
        _callback(message, account)
    return moved


def _save_moves(changed: dict[uuid.UUID, tuple[Message, set[str], bool]], account_id: uuid.UUID) -> None:
    """Save many messages changed by `_apply` in one UPDATE, then queue the callbacks of those that moved."""
    if not changed:
        return
    fields = set().union(*(f for _, f, _ in changed.values()))
    _update_rows([m for m, _, _ in changed.values()], sorted(fields))
    moved = [m for m, _, did_move in changed.values() if did_move and m.status_callback]
    account = Account.objects.get(id=account_id) if moved else None
    for message in moved:
        _callback(message, account)


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


def _fail(message: Message, code: int, detail: str = "", account: Account | None = None) -> bool:
    return _advance(
        message,
        S.FAILED,
        account,
        error_code=code,
        error_message=detail or ERROR_MESSAGES.get(code, ERROR_MESSAGES[30008]),
    )


def _locked(ids: Iterable[uuid.UUID], **filters: Any) -> list[Message]:
    return list(
        Message.objects.select_for_update().filter(id__in=list(ids), **filters).order_by("date_created")
    )


def _locked_sid(sid: str) -> Message | None:
    message_id = sid_to_uuid(sid, Message.SID_PREFIX)
    return Message.objects.select_for_update().filter(id=message_id).first() if message_id else None


# Handing over to the carrier gateway --------------------------------------------------------------


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
        messages = _locked(message_ids, status=S.QUEUED)
        if not messages:
            return
        now = timezone.now()
        opted_out = {
            (sender, recipient)
            for sender in {m.from_number for m in messages}
            for recipient in consent.opted_out_among(
                account_id=account_id, sender=sender, recipients={m.to_number for m in messages}
            )
        }
        names = _connector_names(messages)
        handed: dict[str | None, list[uuid.UUID]] = defaultdict(list)
        for message in messages:
            if _expired(message, now):
                _fail(message, 30001)
            elif (message.from_number, message.to_number) in opted_out and not message.is_consent_reply:
                _fail(message, 21610)
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
        due = _locked(message_ids, status=S.SCHEDULED, send_at__lte=timezone.now())
        for message in due:
            _advance(message, S.QUEUED)
        if due:
            message_send(account_id=account_id, message_ids=[m.id for m in due])


# The carrier gateway's side -----------------------------------------------------------------------


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
            _callback(message, account)
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
            messages = _locked(ids, status=S.SENDING, gateway=gateway)
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
        locked = {m.id: m for m in _locked(i for i in ids.values() if i)}
        changed: dict[uuid.UUID, tuple[Message, set[str], bool]] = {}
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
                fields, moved = _apply(message, S.SENT, regardless=regardless, date_sent=now)
            else:
                fields, moved = _apply(
                    message,
                    S.FAILED,
                    error_code=outcome.error_code,
                    error_message=outcome.detail
                    or ERROR_MESSAGES.get(outcome.error_code, ERROR_MESSAGES[30008]),
                )
            _merge(changed, message, fields, moved)
        _save_moves(changed, account_id)


def _merge(
    changed: dict[uuid.UUID, tuple[Message, set[str], bool]], message: Message, fields: list[str], moved: bool
) -> None:
    if fields:
        _, before, was_moved = changed.get(message.id, (message, set(), False))
        changed[message.id] = (message, before | set(fields), was_moved or moved)


def message_submitted(
    *, account_id: uuid.UUID, message_sid: str, connector: str, carrier_message_ids: Sequence[str]
) -> None:
    messages_submit_outcomes(
        account_id=account_id,
        connector=connector,
        outcomes=[SubmitOutcome(message_sid, tuple(carrier_message_ids))],
    )


def message_refused(
    *, account_id: uuid.UUID, message_sid: str, connector: str, error_code: int, detail: str
) -> None:
    messages_submit_outcomes(
        account_id=account_id,
        connector=connector,
        outcomes=[SubmitOutcome(message_sid, error_code=error_code, detail=detail)],
    )


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
            locked = {m.id: m for m in _locked({message_id for message_id, _ in items})}
            changed: dict[uuid.UUID, tuple[Message, set[str], bool]] = {}
            for message_id, receipt in items:
                if message_id in locked:
                    _merge(changed, locked[message_id], *_apply_receipt(locked[message_id], receipt))
            _save_moves(changed, account_id)
    return unrouted


def _apply_receipt(message: Message, receipt: DeliveryReceipt) -> tuple[list[str], bool]:
    receipts = {**message.segment_receipts, receipt.carrier_message_id: receipt.status}
    if receipt.status != S.DELIVERED:
        code = receipt.error_code or 30008
        return _apply(
            message,
            receipt.status,
            regardless={"segment_receipts": receipts},
            error_code=code,
            error_message=ERROR_MESSAGES.get(code, ERROR_MESSAGES[30008]),
        )
    if all(receipts.get(i) == S.DELIVERED for i in message.carrier_message_ids):
        return _apply(message, S.DELIVERED, regardless={"segment_receipts": receipts})
    return _apply(message, message.status, regardless={"segment_receipts": receipts})


def message_receipt(*, receipt: DeliveryReceipt, connector: str) -> bool:
    """Apply one delivery receipt; False when no message (yet) has that carrier id."""
    return not messages_receipts(receipts=[(connector, receipt)])


# Inbound ------------------------------------------------------------------------------------------


def _e164_or_raw(number: str) -> str:
    """Carriers often drop the '+'; alphanumeric senders stay as they are."""
    return to_e164(number if number.startswith("+") else f"+{number}") or number


def message_receive(*, sms: InboundSms, connector: str) -> Message | None:
    """Store an inbound message for the number's tenant, apply consent keywords, queue its webhook.

    None when no tenant owns the number (the route is the one lookup made before a tenant is known),
    or when its account is closed (closing releases its numbers anyway).

    A suspended account's message is kept and its consent keyword recorded (an opt-out must hold),
    but no automatic reply is sent and its webhook is withheld (`message_withhold`).
    """
    from messaging.tasks import message_webhook_task

    to = _e164_or_raw(sms.to)
    route = NumberRoute.objects.filter(phone_number=to).first()
    if route is None:
        log.info("inbound message for unknown number %s on %s dropped", to, connector)
        return None
    with tenant_scope(route.account_id):
        number = IncomingPhoneNumber.objects.get(id=route.number_id)
        account = Account.objects.get(id=route.account_id)
        status = account_status_in_effect(account=account)
        if status == Account.Status.CLOSED:
            log.info("inbound message for %s of a closed account on %s dropped", to, connector)
            return None
        is_suspended = status == Account.Status.SUSPENDED
        counted = segment(sms.body)
        message = Message(
            account=account,
            direction=Message.Direction.INBOUND,
            from_number=_e164_or_raw(sms.from_number),
            to_number=to,
            body=sms.body,
            status=S.RECEIVED,
            encoding=counted.encoding,
            num_segments=counted.num_segments,
            num_media=len(sms.media_urls),
            connector=connector,
            carrier_message_ids=[sms.carrier_message_id] if sms.carrier_message_id else [],
            phone_number=number,
            date_sent=timezone.now(),
            is_webhook_pending=not is_suspended and bool(number.sms_url or number.sms_fallback_url),
        )
        message.save(force_insert=True)
        _media_add([(message, sms.media_urls)])
        audit_record(
            account_id=account.id,
            actor=f"carrier:{connector}",
            action="message.receive",
            object_sid=message.sid,
            payload={"from": message.from_number, "to": to, "num_segments": counted.num_segments},
        )
        keyword = consent.keyword_of(sms.body)
        reply = (
            consent.consent_record(message=message, keyword=keyword, account_name=account.friendly_name)
            if keyword
            else None
        )
        if is_suspended:
            message_withhold(message=message, number=number)
        elif reply:
            draft = MessageDraft(
                to=message.from_number,
                actor="worker:messaging",
                body=reply,
                direction=Message.Direction.OUTBOUND_REPLY,
            )
            _store(
                account, [_Valid(draft=draft, to=message.from_number, number=number, is_consent_reply=True)]
            )
        transaction.on_commit(lambda: conversation_log_message(message=message), robust=True)
        if message.is_webhook_pending:
            transaction.on_commit(
                lambda: message_webhook_task.delay(str(account.id), str(message.id)), robust=True
            )
        return message


def message_withhold(*, message: Message, number: IncomingPhoneNumber) -> None:
    """Keep an inbound message of a suspended account from its SMS webhook for good (not run after
    reactivation either): Twilio's 30002 ("Account suspended",
    https://www.twilio.com/docs/api/errors/30002) on the message and in the account's error log.

    Twilio documents no inbound case; this is its messaging code for a suspended account, as 10003
    is its voice code for a refused call. The caller's transaction must be scoped to the message's
    account.
    """
    message.is_webhook_pending = False
    message.error_code = 30002
    message.error_message = ERROR_MESSAGES[30002]
    message.save(update_fields=["is_webhook_pending", "error_code", "error_message", "date_updated"])
    url = number.sms_url or number.sms_fallback_url
    notification_record(
        account_id=message.account_id,
        error_code=30002,
        message=f"Message {message.sid} to {message.to_number} arrived while the account is suspended: "
        "kept, not sent to the SMS webhook",
        request_url=url,
        request_method=(number.sms_method if number.sms_url else number.sms_fallback_method) if url else "",
    )


def message_webhook_requeue(*, account_id: uuid.UUID, message_ids: Sequence[uuid.UUID]) -> None:
    """Queue again the SMS webhooks of messages whose task never ran (lost with Redis or a worker)."""
    from messaging.tasks import message_webhook_task

    with tenant_scope(account_id):
        ids = list(
            Message.objects.filter(id__in=list(message_ids), is_webhook_pending=True).values_list(
                "id", flat=True
            )
        )
        Message.objects.filter(id__in=ids).update(handed_over_at=timezone.now())
        for message_id in ids:
            transaction.on_commit(
                partial(message_webhook_task.delay, str(account_id), str(message_id)), robust=True
            )


# The sweep ----------------------------------------------------------------------------------------


def messages_sweep(*, stale_seconds: float, limit: int = 1000) -> dict[str, int]:
    """Find the work nobody is doing, across tenants, and do it per tenant: hand over queued messages
    not handed over for `stale_seconds`, release scheduled ones now due, re-queue owed webhooks.

    Run periodically by the carrier gateway (Celery beat is not needed, and a SendAt is never an ETA:
    Redis would redeliver anything held past its one-hour visibility timeout).
    """
    now = timezone.now()
    stale = now - timedelta(seconds=stale_seconds)
    rows = (
        PendingMessage.objects.filter(status=S.SCHEDULED, since__lte=now)
        | PendingMessage.objects.filter(status__in=[S.QUEUED, S.RECEIVED], since__lte=stale)
    ).order_by("since")[:limit]
    work: dict[tuple[str, uuid.UUID], list[uuid.UUID]] = defaultdict(list)
    for row in rows:
        work[(row.status, row.account_id)].append(row.message_id)
    counts: dict[str, int] = defaultdict(int)
    for (status, account_id), ids in work.items():
        if status == S.SCHEDULED:
            message_release_due(account_id=account_id, message_ids=ids)
        elif status == S.QUEUED:
            message_send(account_id=account_id, message_ids=ids)
        else:
            message_webhook_requeue(account_id=account_id, message_ids=ids)
        counts[status] += len(ids)
    return dict(counts)


# The API's updates --------------------------------------------------------------------------------


def message_cancel(*, message: Message, actor: str) -> Message:
    """Cancel a scheduled message (Twilio's 30409 once it has left `scheduled`)."""
    with transaction.atomic():
        locked = _locked([message.id])[0]
        if locked.status != S.SCHEDULED:
            raise TwilioError(30409, "This message cannot be canceled", 400)
        _advance(locked, S.CANCELED)
        audit_record(
            account_id=locked.account_id, actor=actor, action="message.cancel", object_sid=locked.sid
        )
    return locked


def _require_final(message: Message, verb: str) -> None:
    if not message.is_final:
        raise TwilioError(20009, f"Cannot {verb} this message before it is complete", 409)


def message_redact(*, message: Message, actor: str) -> Message:
    """Empty the body of a finished message; nothing of it is kept (the audit chain never held it)."""
    with transaction.atomic():
        locked = _locked([message.id])[0]
        _require_final(locked, "redact")
        locked.body = ""
        locked.save(update_fields=["body", "date_updated"])
        audit_record(
            account_id=locked.account_id, actor=actor, action="message.redact", object_sid=locked.sid
        )
    return locked


def message_delete(*, message: Message, actor: str) -> None:
    with transaction.atomic():
        _require_final(message, "delete")
        audit_record(
            account_id=message.account_id, actor=actor, action="message.delete", object_sid=message.sid
        )
        message.delete()
