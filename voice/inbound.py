"""Opening an inbound call: the dialled number's account, or its refusal."""

import uuid
from dataclasses import dataclass

from django.utils import timezone

from core.error_codes import ErrorCode
from core.phone import caller_presented, carrier_e164
from core.tenancy import tenant_scope
from numbering.models import IncomingPhoneNumber, NumberRoute
from tenants.models import Account
from tenants.selectors import account_status_in_effect
from voice.call_setup import CallSetup, call_setup_of
from voice.call_state import call_finish
from voice.models import Call, CallEvent
from voice.timeline import call_error, event_add


@dataclass(frozen=True)
class InboundRefused:
    """An inbound call to a suspended account's number: recorded and logged, to be rejected unanswered."""

    account_id: uuid.UUID
    call_id: uuid.UUID
    call_sid: str


def inbound_call_open(
    *, from_number: str, dialled: str, channel_id: str, media_server_id: int | None
) -> CallSetup | InboundRefused | None:
    """Route the dialled number to its account and open the call; None for a number nobody owns.
    Both numbers come as the trunk wrote them, often without their '+'.

    The route is the one lookup made before any tenant is known (numbering_numberroute has no RLS).
    A closed account's number counts as nobody's (closing releases its numbers anyway); a suspended
    account's call is refused (`_inbound_refuse`).
    """
    e164 = carrier_e164(dialled)
    from_number = caller_presented(from_number)
    route = NumberRoute.objects.filter(phone_number=e164).first() if e164 else None
    if route is None or e164 is None:
        return None
    account_id = route.account_id
    with tenant_scope(account_id):
        # The number and its account in one query (this runs before every inbound call is answered).
        number = next(
            iter(IncomingPhoneNumber.objects.select_related("account").filter(phone_number=e164)), None
        )
        if number is None:
            return None
        account = number.account
        status = account_status_in_effect(account=account)
        if status == Account.Status.CLOSED:
            return None
        is_refused = status == Account.Status.SUSPENDED
        call = Call.objects.create(
            account=account,
            phone_number=number,
            direction=Call.Direction.INBOUND,
            from_number=from_number,
            to_number=e164,
            status=Call.Status.RINGING,
            start_time=timezone.now(),
            url=number.voice_url,
            method=number.voice_method,
            fallback_url=number.voice_fallback_url,
            fallback_method=number.voice_fallback_method,
            # A refused call sends no webhook at all, its status callback included.
            status_callback="" if is_refused else number.status_callback,
            status_callback_method=number.status_callback_method,
            status_callback_events=["completed"],
            media_server_id=media_server_id,
            channel_id=channel_id,
        )
        event_add(call, CallEvent.Kind.STATUS, "ringing", {"from": from_number, "to": e164})
        if is_refused:
            return _inbound_refuse(call)
        return call_setup_of(call, account)


def _inbound_refuse(call: Call) -> InboundRefused:
    """End a suspended account's inbound call before it is answered, with Twilio's 10003 ("Incoming
    call rejected due to inactive account": the call is not answered; a suspended subaccount is one of
    its causes; https://www.twilio.com/docs/api/errors/10003) in the account's error log.

    No webhook runs; the call stays in the account's calls and its caller's conversation, failed, as
    a rejected call is here. The caller's transaction must be scoped to the call's account.
    """
    call_error(
        account_id=call.account_id,
        call_id=call.id,
        code=ErrorCode.INCOMING_CALL_REJECTED_INACTIVE_ACCOUNT,
        message="Incoming call rejected due to inactive account",
        url=call.url,
        method=call.method,
    )
    call_finish(
        account_id=call.account_id, call_id=call.id, status=Call.Status.FAILED, reason="account suspended"
    )
    return InboundRefused(account_id=call.account_id, call_id=call.id, call_sid=call.sid)
