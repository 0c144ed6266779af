"""Bulk alerts: one message to up to 100,000 recipients, such as a school's emergency alert.

`bulk_create` checks the sender and the content once (the single-message validators of
`messaging.create`), puts the recipients in E.164 and removes duplicates, sets aside the invalid
and the opted-out ones, and inserts one queued `Message` per recipient kept with one INSERT per
`INSERT_SIZE` (COPY is not allowed on a table under row-level security), all in one transaction
with one audit entry for the bulk. After commit it queues a `messaging.message_send` task per
`CHUNK_SIZE` messages: the task and the path of every message (`handover.message_send`), so each is
re-checked for opt-outs and expiry, appended to its connector's stream (the one for bulk alerts),
claimed once by the carrier gateway and throttled by that connector's window and rate. A chunk run
twice submits nothing twice, and a chunk lost with a killed worker is handed over by the gateway's
sweep. Behind every send task, `signals.bulk_messages_stored`'s receivers queue theirs (a task per
chunk that enters the texts in their recipients' conversations).

A bulk's status counts (`num_queued` ... `num_canceled`) and its move to `completed` are kept by a
trigger on the messages table (migration 0004), in the transactions that move the messages; the
same trigger NOTIFYs the portal's live progress (messaging/bulk/events.py).
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from compliance.services import audit_record
from core.commit_hooks import on_commit_robust
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.inserts import insert_template_sql
from core.phone import e164_each
from core.tenancy import tenant_scope
from messaging import consent
from messaging.bulk.queueing import bulk_task
from messaging.create import content_validate, sender_get
from messaging.models import Bulk, Message
from messaging.segments import Segmentation, segment
from messaging.signals import bulk_messages_stored
from messaging.tasks import message_send_task
from numbering.models import IncomingPhoneNumber
from tenants.models import Account

CHUNK_SIZE = 500  # messages per message_send task
INSERT_SIZE = 10_000  # messages per INSERT statement
MAX_THREAT_BASIS_CHARS = 2000


@dataclass(frozen=True)
class Recipients:
    valid: list[str]  # E.164, each once, in the order first given
    duplicates: int
    invalid: list[str]  # as given (cut to 64 characters), every occurrence


def recipients_normalize(raw: Sequence[str]) -> Recipients:
    """E.164 numbers in the order given, each once; what is not a valid number is set aside."""
    seen: set[str] = set()
    valid: list[str] = []
    invalid: list[str] = []
    duplicates = 0
    for value, e164 in zip(raw, e164_each(raw), strict=True):
        if e164 is None:
            invalid.append(value[:64])
        elif e164 in seen:
            duplicates += 1
        else:
            seen.add(e164)
            valid.append(e164)
    return Recipients(valid=valid, duplicates=duplicates, invalid=invalid)


def message_class_validate(message_class: str, threat_basis: str) -> None:
    """One of the classes of compliance.md 1.3; an emergency alert must record its threat basis."""
    if message_class not in Bulk.MessageClass.values:
        choices = ", ".join(Bulk.MessageClass.values)
        raise TwilioError(
            ErrorCode.INVALID_PARAMETER, f"Invalid parameter message_class: must be one of {choices}", 400
        )
    if message_class == Bulk.MessageClass.EMERGENCY and not threat_basis.strip():
        raise TwilioError(
            ErrorCode.UNKNOWN_PARAMETERS,
            "Missing required parameter threat_basis: an emergency alert must record the threat it answers",
            400,
        )
    if len(threat_basis) > MAX_THREAT_BASIS_CHARS:
        raise TwilioError(
            ErrorCode.INVALID_PARAMETER,
            f"Invalid parameter threat_basis: longer than {MAX_THREAT_BASIS_CHARS} characters",
            400,
        )


def _recipients_validate(recipients: Sequence[str]) -> None:
    if not recipients:
        raise TwilioError(ErrorCode.UNKNOWN_PARAMETERS, "Missing required parameter recipients", 400)
    if len(recipients) > Bulk.MAX_RECIPIENTS:
        raise TwilioError(
            ErrorCode.INVALID_PARAMETER,
            f"Invalid parameter recipients: at most {Bulk.MAX_RECIPIENTS:,} per bulk",
            400,
        )


@dataclass(frozen=True)
class BulkPlan:
    """What a bulk would send, worked out as `bulk_create` works it out."""

    number: IncomingPhoneNumber
    recipients: Recipients
    opted_out: list[str]  # valid numbers that opted out, in the order given
    kept: list[str]  # one message each
    segmentation: Segmentation

    @property
    def num_segments_total(self) -> int:
        return self.segmentation.num_segments * len(self.kept)


def _plan(
    *,
    account: Account,
    from_: str,
    body: str,
    recipients: Sequence[str],
    message_class: str,
    threat_basis: str,
) -> BulkPlan:
    number = sender_get(account=account, from_=from_, messaging_service_sid=None)
    content_validate(body=body, media_urls=())
    message_class_validate(message_class, threat_basis)
    _recipients_validate(recipients)
    normalized = recipients_normalize(recipients)
    opted_out = consent.opted_out_among(
        account_id=account.id, sender=number.phone_number, recipients=normalized.valid
    )
    return BulkPlan(
        number=number,
        recipients=normalized,
        opted_out=[r for r in normalized.valid if r in opted_out],
        kept=[r for r in normalized.valid if r not in opted_out],
        segmentation=segment(body),
    )


def bulk_preview(
    *,
    account: Account,
    from_: str,
    body: str,
    recipients: Sequence[str],
    message_class: str,
    threat_basis: str = "",
) -> BulkPlan:
    """What `bulk_create` would send with these arguments, refused with the same errors; stores
    nothing. For the portal's confirmation (opt-outs arriving meanwhile are honoured at creation)."""
    with tenant_scope(account.id):
        return _plan(
            account=account,
            from_=from_,
            body=body,
            recipients=recipients,
            message_class=message_class,
            threat_basis=threat_basis,
        )


def bulk_create(
    *,
    account: Account,
    from_: str,
    body: str,
    recipients: Sequence[str],
    message_class: str,
    threat_basis: str = "",
    actor: str,
    idempotency_key: str = "",
) -> Bulk:
    """Create a bulk and one queued message per recipient kept, then (after commit) hand them over.

    Errors as for one message (21606 From, 21602/21617 body) plus 20001/20422 for the recipients,
    the class and the threat basis; nothing is stored for refused input. Invalid numbers, duplicates
    and opted-out recipients are not errors: they are counted (and listed) on the bulk. With an
    `idempotency_key` the account already used, the bulk made then is returned and nothing is sent
    again.
    """
    with tenant_scope(account.id):
        if idempotency_key and (found := _by_key(account, idempotency_key)):
            return found
        plan = _plan(
            account=account,
            from_=from_,
            body=body,
            recipients=recipients,
            message_class=message_class,
            threat_basis=threat_basis,
        )
        number, normalized, kept, counted = plan.number, plan.recipients, plan.kept, plan.segmentation
        now = timezone.now()
        bulk = Bulk(
            account=account,
            from_number=number.phone_number,
            phone_number=number,
            body=body,
            encoding=counted.encoding,
            num_segments=counted.num_segments,
            message_class=message_class,
            threat_basis=threat_basis.strip(),
            status=Bulk.Status.SENDING if kept else Bulk.Status.COMPLETED,
            completed_at=None if kept else now,
            created_by=actor,
            idempotency_key=idempotency_key,
            num_requested=len(recipients),
            num_duplicates=normalized.duplicates,
            num_invalid=len(normalized.invalid),
            num_opted_out=len(plan.opted_out),
            num_messages=len(kept),
            num_queued=len(kept),
            invalid_recipients=normalized.invalid,
            opted_out_recipients=plan.opted_out,
        )
        try:
            with transaction.atomic():
                bulk.save(force_insert=True)
        except IntegrityError:
            # The same idempotency key, created by a concurrent request that committed first.
            if idempotency_key and (found := _by_key(account, idempotency_key)):
                return found
            raise
        ids = _insert_messages(bulk=bulk, number=number, recipients=kept)
        audit_record(
            account_id=account.id,
            actor=actor,
            action="bulk.create",
            object_sid=bulk.sid,
            payload={
                "from": number.phone_number,
                "message_class": message_class,
                "threat_basis": bulk.threat_basis,
                "num_segments": counted.num_segments,
                "num_requested": bulk.num_requested,
                "num_messages": bulk.num_messages,
                "num_duplicates": bulk.num_duplicates,
                "num_invalid": bulk.num_invalid,
                "num_opted_out": bulk.num_opted_out,
            },
        )
        _fan_out(account.id, ids)
        return bulk


def _by_key(account: Account, key: str) -> Bulk | None:
    return Bulk.objects.filter(account=account, idempotency_key=key).first()


def _insert_messages(
    *, bulk: Bulk, number: IncomingPhoneNumber, recipients: Sequence[str]
) -> list[uuid.UUID]:
    """One queued message per recipient, `INSERT_SIZE` rows per statement; returns their ids in order.

    Every row is the same message but for its id and number, so the statement carries those two as
    arrays and everything else once (`core.inserts.insert_template_sql`).
    """
    template = Message(
        account_id=bulk.account_id,
        direction=Message.Direction.OUTBOUND_API,
        from_number=number.phone_number,
        body=bulk.body,
        status=Message.Status.QUEUED,
        encoding=bulk.encoding,
        num_segments=bulk.num_segments,
        phone_number=number,
        bulk=bulk,
    )
    ids = [uuid.uuid4() for _ in recipients]
    with connection.cursor() as cursor:
        for start in range(0, len(ids), INSERT_SIZE):
            end = start + INSERT_SIZE
            cursor.execute(
                *insert_template_sql(template, {"id": ids[start:end], "to_number": recipients[start:end]})
            )
    return ids


def _fan_out(account_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> None:
    """After commit, one send task per chunk, each queued on its own: one that cannot be queued (Redis
    away) leaves its messages to the gateway's sweep without holding back the rest. Then
    `bulk_messages_stored`, whose receivers queue their work behind every send (conversations puts
    the texts in their recipients' conversations), so the alert leaves first."""
    chunks = [[i.hex for i in ids[start : start + CHUNK_SIZE]] for start in range(0, len(ids), CHUNK_SIZE)]
    for chunk in chunks:
        on_commit_robust(bulk_task, message_send_task, str(account_id), chunk)
    bulk_messages_stored.send(sender=Bulk, account_id=account_id, chunks=chunks)


def bulk_cancel(*, bulk: Bulk, actor: str) -> Bulk:
    """Stop a bulk: its messages still queued become `canceled`; those a carrier gateway already
    claimed go on (a gateway's claim and this update lock the same rows, so each message is either
    claimed or canceled). Canceling a canceled bulk changes nothing; a completed one cannot be (30409)."""
    with tenant_scope(bulk.account_id):
        locked = Bulk.objects.select_for_update().get(id=bulk.id)
        if locked.status == Bulk.Status.CANCELED:
            return locked
        if locked.status == Bulk.Status.COMPLETED:
            raise TwilioError(
                ErrorCode.MESSAGE_CANNOT_BE_CANCELED,
                "This bulk cannot be canceled: every message was already sent",
                400,
            )
        now = timezone.now()
        # The bulk first: the counting trigger then never marks it completed.
        Bulk.objects.filter(id=locked.id).update(
            status=Bulk.Status.CANCELED, canceled_at=now, date_updated=now
        )
        canceled = Message.objects.filter(bulk_id=locked.id, status=Message.Status.QUEUED).update(
            status=Message.Status.CANCELED, date_updated=now
        )
        audit_record(
            account_id=locked.account_id,
            actor=actor,
            action="bulk.cancel",
            object_sid=locked.sid,
            payload={"num_canceled": canceled},
        )
        locked.refresh_from_db()
        return locked
