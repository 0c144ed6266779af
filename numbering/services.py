"""Every write to a tenant's phone numbers, with its audit entry."""

from typing import Any

from django.db import IntegrityError, transaction

from compliance.services import audit_record
from core.errors import TwilioError
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


def _save_unique(number: IncomingPhoneNumber, **save_kwargs: Any) -> None:
    """Save; a number already routed to any account is 'not available' (Twilio 21422)."""
    try:
        with transaction.atomic():
            number.save(**save_kwargs)
    except IntegrityError as exc:
        raise TwilioError(21422, f"PhoneNumber {number.phone_number} is not available", 400) from exc


def number_create(*, account: Account, actor: str, phone_number: str, **settings: Any) -> IncomingPhoneNumber:
    """`phone_number` must already be E.164; `settings` are fields from NUMBER_SETTINGS."""
    with transaction.atomic():
        number = IncomingPhoneNumber(account=account, phone_number=phone_number, **settings)
        if not number.friendly_name:
            number.friendly_name = friendly(phone_number)
        _save_unique(number, force_insert=True)
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
        _save_unique(number, update_fields=[*changes, "date_updated"])
        audit_record(
            account_id=number.account_id,
            actor=actor,
            action="incoming_phone_number.update",
            object_sid=number.sid,
            payload=changes,
        )
    return number


def number_delete(*, number: IncomingPhoneNumber, actor: str) -> None:
    with transaction.atomic():
        audit_record(
            account_id=number.account_id,
            actor=actor,
            action="incoming_phone_number.delete",
            object_sid=number.sid,
            payload={"phone_number": number.phone_number},
        )
        number.delete()
