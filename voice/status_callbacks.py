"""Twilio's voice parameters, and the status callbacks a call's changes queue through the webhook
outbox."""

import uuid

from django.utils import timezone

from core.dates import rfc2822
from core.sids import make_sid
from core.tenancy import tenant_scope
from monitor.outbox import webhook_enqueue
from tenants.models import Account
from voice.models import Call

CALLBACK_EVENT_FOR_STATUS: dict[str, str] = {
    Call.Status.INITIATED: "initiated",
    Call.Status.RINGING: "ringing",
    Call.Status.IN_PROGRESS: "answered",
}


def voice_params(
    *, call_sid: str, account_sid: str, from_number: str, to_number: str, status: str, direction: str
) -> dict[str, str]:
    """Twilio's standard voice parameters, sent with every voice webhook and status callback."""
    return {
        "CallSid": call_sid,
        "AccountSid": account_sid,
        "From": from_number,
        "To": to_number,
        "Caller": from_number,
        "Called": to_number,
        "CallStatus": status,
        "Direction": direction,
        "ApiVersion": "2010-04-01",
    }


def status_params(call: Call, account_sid: str) -> dict[str, str]:
    """The standard parameters for this call as it is now."""
    params = voice_params(
        call_sid=call.sid,
        account_sid=account_sid,
        from_number=call.from_number,
        to_number=call.to_number,
        status=call.status,
        direction=call.direction,
    )
    if call.parent_call_id:
        params["ParentCallSid"] = make_sid("CA", call.parent_call_id)
    return params


def status_callback_send(call: Call, event_name: str) -> None:
    """Queue the call's status callback for `event_name` if it asked for that event, numbered in
    order; inside the call's tenant scope (the outbox delivers it once this transaction commits)."""
    if not call.status_callback or event_name not in call.status_callback_events:
        return
    account = Account.objects.get(id=call.account_id)
    params = {
        **status_params(call, account.sid),
        "CallbackSource": "call-progress-events",
        "SequenceNumber": str(call.callback_sequence),
        "Timestamp": rfc2822(timezone.now()) or "",
    }
    if call.status in Call.ENDED:
        duration = str(call.duration_seconds or 0)
        params |= {"CallDuration": duration, "Duration": duration}
    call.callback_sequence += 1
    call.save(update_fields=["callback_sequence"])
    webhook_enqueue(
        account=account,
        url=call.status_callback,
        method=call.status_callback_method,
        params=params,
        call_sid=call.sid,
    )


def callback_enqueue(
    *, account_id: uuid.UUID, url: str, method: str, params: dict[str, str], call_sid: str
) -> None:
    """Queue a callback a verb asked for, whose answer does not matter (a hung-up <Record>'s action)."""
    with tenant_scope(account_id):
        webhook_enqueue(
            account=Account.objects.get(id=account_id),
            url=url,
            method=method,
            params=params,
            call_sid=call_sid,
        )
