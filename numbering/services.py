"""Every write to a tenant's phone numbers, with its audit entry."""

import uuid
from collections.abc import Sequence
from typing import Any

from django.db import transaction

from compliance.services import AuditDraft, audit_record, audit_record_many
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.models import save_unique
from core.phone import friendly
from numbering.models import IncomingPhoneNumber
from tenants.models import Account

NUMBER_SETTINGS = (
    "friendly_name",
    "voice_url",
    "voice_method",
    "voice_fallback_url",
    "voice_fallback_method",
    "voice_caller_id_lookup",
    "status_callback",
    "status_callback_method",
    "sms_url",
    "sms_method",
    "sms_fallback_url",
    "sms_fallback_method",
)


def _not_available(number: IncomingPhoneNumber) -> TwilioError:
    """A number already routed to any account (the unique constraint) is Twilio's 21422."""
    return TwilioError(
        ErrorCode.PHONE_NUMBER_NOT_AVAILABLE, f"PhoneNumber {number.phone_number} is not available", 400
    )


def _refuse_if_closed(account: Account) -> None:
    """A closed account's numbers were released (`numbers_release`) and it may not take new ones.

    Locks the account's row (as closing it does), so a number is never created beside a concurrent
    close: one waits for the other, and `numbers_release` then sees the number.
    """
    status = (
        Account.objects.select_for_update(no_key=True).filter(id=account.id).values_list("status", flat=True)
    )
    if status.first() == Account.Status.CLOSED:
        raise TwilioError(
            ErrorCode.ACCOUNT_NOT_ACTIVE,
            "Account not active: a closed account cannot have phone numbers",
            403,
        )


def number_create(*, account: Account, actor: str, phone_number: str, **settings: Any) -> IncomingPhoneNumber:
    """`phone_number` must already be E.164; `settings` are fields from NUMBER_SETTINGS."""
    with transaction.atomic():
        _refuse_if_closed(account)
        number = IncomingPhoneNumber(account=account, phone_number=phone_number, **settings)
        if not number.friendly_name:
            number.friendly_name = friendly(phone_number)
        save_unique(number, _not_available(number), force_insert=True)
        audit_record(
            account_id=account.id,
            actor=actor,
            action="incoming_phone_number.create",
            object_sid=number.sid,
            payload={"phone_number": phone_number, **settings},
        )
    return number


def number_update(*, number: IncomingPhoneNumber, actor: str, **changes: Any) -> IncomingPhoneNumber:
    if not changes:
        return number
    with transaction.atomic():
        for field, value in changes.items():
            setattr(number, field, value)
        save_unique(number, _not_available(number), update_fields=[*changes, "date_updated"])
        audit_record(
            account_id=number.account_id,
            actor=actor,
            action="incoming_phone_number.update",
            object_sid=number.sid,
            payload=changes,
        )
    return number


def _release(
    account_id: uuid.UUID, numbers: Sequence[IncomingPhoneNumber], actor: str, **detail: str
) -> None:
    """Delete `numbers`, each with its audit entry; the route trigger takes each out of routing."""
    audit_record_many(
        account_id=account_id,
        entries=[
            AuditDraft(
                actor=actor,
                action="incoming_phone_number.delete",
                object_sid=number.sid,
                payload={"phone_number": number.phone_number, **detail},
            )
            for number in numbers
        ],
    )
    IncomingPhoneNumber.objects.filter(id__in=[number.id for number in numbers]).delete()


def number_delete(*, number: IncomingPhoneNumber, actor: str) -> None:
    with transaction.atomic():
        _release(number.account_id, [number], actor)


def numbers_release(*, account: Account, actor: str, reason: str) -> int:
    """Release every number of `account` (Twilio releases a subaccount's numbers when it is closed),
    in the caller's transaction, which must be scoped to `account`; returns how many.

    Calls and texts to them then get what an unknown number gets. Calls and messages keep their
    numbers as text; their link to the number is cleared.
    """
    numbers = list(IncomingPhoneNumber.objects.filter(account=account).order_by("date_created", "id"))
    if numbers:
        _release(account.id, numbers, actor, reason=reason)
    return len(numbers)
