"""Outbound calls the Calls API asks for: the caller ID they present, and the queued call."""

from dataclasses import dataclass

from django.db import transaction

from compliance.services import audit_record
from core.error_codes import ErrorCode
from core.errors import TwilioError
from numbering.models import IncomingPhoneNumber
from tenants.models import Account
from voice.models import Call, CallEvent
from voice.signals import call_logged
from voice.tasks import call_originate_task
from voice.timeline import event_add


@dataclass(frozen=True)
class OutboundRequest:
    to_number: str
    from_number: str
    url: str
    method: str
    fallback_url: str
    fallback_method: str
    twiml: str
    status_callback: str
    status_callback_method: str
    status_callback_events: list[str]
    timeout_seconds: int
    is_recorded: bool


def call_create(*, account: Account, actor: str, request: OutboundRequest) -> Call:
    """Queue an outbound call (Calls API); Celery originates it once this transaction commits.

    Raises TwilioError 21210 unless it presents one of the account's numbers as its caller ID.
    """
    if not IncomingPhoneNumber.objects.for_account(account).filter(phone_number=request.from_number).exists():
        raise TwilioError(
            ErrorCode.FROM_NOT_VERIFIED,
            f"The source phone number provided, {request.from_number}, is not yet verified for your account",
            400,
        )
    with transaction.atomic():
        call = Call.objects.create(
            account=account,
            direction=Call.Direction.OUTBOUND_API,
            to_number=request.to_number,
            from_number=request.from_number,
            status=Call.Status.QUEUED,
            url=request.url,
            method=request.method,
            fallback_url=request.fallback_url,
            fallback_method=request.fallback_method,
            twiml=request.twiml,
            status_callback=request.status_callback,
            status_callback_method=request.status_callback_method,
            status_callback_events=request.status_callback_events,
            timeout_seconds=request.timeout_seconds,
            is_recorded=request.is_recorded,
        )
        call.channel_id = call.sid
        call.save(update_fields=["channel_id"])
        event_add(call, CallEvent.Kind.STATUS, "queued", {})
        audit_record(
            account_id=account.id,
            actor=actor,
            action="call.create",
            object_sid=call.sid,
            payload={"to": request.to_number, "from": request.from_number},
        )
        transaction.on_commit(lambda: call_originate_task.delay(str(account.id), str(call.id)))
        transaction.on_commit(lambda: call_logged.send(sender=Call, call=call), robust=True)
    return call
