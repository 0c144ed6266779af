"""Creating outbound messages: validate what the Messages API (or a reply, a call's <Sms>, a bulk
alert) asks for, store the messages with their media, callbacks and audit entries, announce them
(messaging/signals.py), and queue their hand-over once the transaction commits.

The validators are small functions of their own so that a bulk sender can apply them to a list
without creating one by one.
"""

import mimetypes
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.db import connection, transaction
from django.utils import timezone

from compliance.services import AuditDraft, audit_record_many
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.inserts import insert_sql
from core.phone import to_e164
from core.sids import SID_RE
from core.tenancy import tenant_scope
from messaging import consent
from messaging.models import Media, Message
from messaging.segments import carried_text, segment
from messaging.signals import messages_stored
from messaging.status import ERROR_MESSAGES, callback_enqueue
from messaging.tasks import message_send_soon
from numbering.models import IncomingPhoneNumber
from tenants.models import Account
from voice.models import Call

MAX_BODY_CHARS = 1600
MAX_MEDIA = 10
DEFAULT_VALIDITY_SECONDS = 36000
# Twilio's scheduling window (error 35114); Twilio also wants a Messaging Service, we do not have any.
SEND_AT_EARLIEST = timedelta(seconds=300)
SEND_AT_LATEST = timedelta(days=35)

S = Message.Status


def recipient_validate(to: str) -> str:
    """The recipient in E.164 (21604 when missing, 21211 when not a valid number)."""
    if not to:
        raise TwilioError(ErrorCode.TO_REQUIRED, "A 'To' phone number is required.", 400)
    e164 = to_e164(to)
    if e164 is None:
        raise TwilioError(
            ErrorCode.INVALID_TO_NUMBER, f"The 'To' number {to} is not a valid phone number.", 400
        )
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
        raise TwilioError(
            ErrorCode.INVALID_MESSAGING_SERVICE_SID,
            f"The Messaging Service Sid {messaging_service_sid} is invalid.",
            400,
        )
    if not from_:
        raise TwilioError(ErrorCode.FROM_REQUIRED, "A 'From' phone number is required.", 400)
    number = numbers.get(to_e164(from_) or from_)
    if number is None:
        raise TwilioError(
            ErrorCode.FROM_NOT_MESSAGE_CAPABLE,
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
        raise TwilioError(ErrorCode.BODY_REQUIRED, "Message body is required.", 400)
    if len(body) > MAX_BODY_CHARS:
        raise TwilioError(
            ErrorCode.BODY_TOO_LONG, "The concatenated message body exceeds the 1600 character limit.", 400
        )
    if len(media_urls) > MAX_MEDIA:
        raise TwilioError(
            ErrorCode.TOO_MANY_MEDIA, f"Too many media URLs: at most {MAX_MEDIA} per message.", 400
        )
    for url in media_urls:
        if not url.lower().startswith(("http://", "https://")):
            raise TwilioError(
                ErrorCode.INVALID_MEDIA_URL,
                f"Media urls: {url} are invalid. Please use only valid http and https urls",
                400,
            )


def validity_validate(seconds: int | None) -> int:
    if seconds is None:
        return DEFAULT_VALIDITY_SECONDS
    if not 1 <= seconds <= DEFAULT_VALIDITY_SECONDS:
        raise TwilioError(
            ErrorCode.INVALID_VALIDITY_PERIOD, "ValidityPeriod must be between 1 and 36000 seconds.", 400
        )
    return seconds


def send_at_validate(send_at: datetime, *, now: datetime) -> None:
    if not now + SEND_AT_EARLIEST <= send_at <= now + SEND_AT_LATEST:
        raise TwilioError(
            ErrorCode.SEND_AT_NOT_SUPPORTED,
            "SendAt time must be between 300 seconds and 35 days (3024000 seconds) in the future.",
            400,
        )


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
    opted_out = consent.opted_out_pairs(
        account_id=account.id,
        pairs=((item.number.phone_number, item.to) for item in checked if isinstance(item, _Valid)),
    )
    return [
        TwilioError(ErrorCode.UNSUBSCRIBED_RECIPIENT, ERROR_MESSAGES[ErrorCode.UNSUBSCRIBED_RECIPIENT], 400)
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


def _store(account: Account, valid: Sequence[_Valid]) -> list[Message]:
    """Insert validated messages with their media, status callbacks and audit entries, in the caller's
    transaction, and announce them (`messages_stored`: their timeline items, in this transaction);
    their send tasks are queued after commit."""
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
    media_add([(message, item.draft.media_urls) for message, item in zip(messages, valid, strict=True)])
    for message in messages:
        callback_enqueue(message, account)
    messages_stored.send(sender=Message, account_id=account.id, messages=messages)
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


def consent_reply_store(*, account: Account, number: IncomingPhoneNumber, to: str, body: str) -> Message:
    """Store the answer to a consent keyword, in the caller's transaction; it skips every check, the
    opt-out included (the answer to STOP confirms it), and is sent after commit as any message."""
    draft = MessageDraft(
        to=to, actor="worker:messaging", body=body, direction=Message.Direction.OUTBOUND_REPLY
    )
    (message,) = _store(account, [_Valid(draft=draft, to=to, number=number, is_consent_reply=True)])
    return message


def media_add(pairs: Sequence[tuple[Message, Sequence[str]]]) -> None:
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
