"""The outbound legs a call's <Dial> opens, and the caller IDs they may present."""

import uuid
from datetime import datetime

from django.utils import timezone

from core.errors import TwilioError
from core.tenancy import tenant_scope
from numbering.models import IncomingPhoneNumber
from twiml.errors import Code
from voice.models import Call, CallEvent
from voice.timeline import event_add


def child_call_open(
    *,
    account_id: uuid.UUID,
    call_id: uuid.UUID,
    to_number: str,
    from_number: str,
    media_server_id: int | None,
    at: datetime | None = None,
) -> uuid.UUID:
    """The outbound-dial leg of a <Dial>; its SID is also its ARI channel id. `at` is when the dial
    began: the worker's writes may land after the leg's later changes, whose events carry their own
    instants, and the timeline must still read initiated first.

    Raises TwilioError 13214 unless the caller ID is one of the account's numbers or, forwarding an
    inbound call, the caller's own number: no tenant presents another's number.
    """
    with tenant_scope(account_id):
        if not _may_present(account_id, call_id, from_number):
            raise TwilioError(
                Code.DIAL_CALLER_ID, f"Dial callerId {from_number} is not a number of this account", 400
            )
        child = Call(
            account_id=account_id,
            parent_call_id=call_id,
            direction=Call.Direction.OUTBOUND_DIAL,
            to_number=to_number,
            from_number=from_number,
            status=Call.Status.INITIATED,
            start_time=at or timezone.now(),
            media_server_id=media_server_id,
        )
        child.channel_id = child.sid
        child.save(force_insert=True)
        event_add(child, CallEvent.Kind.STATUS, "initiated", {}, at=child.start_time)
        return child.id


def _may_present(account_id: uuid.UUID, call_id: uuid.UUID, caller_id: str) -> bool:
    if IncomingPhoneNumber.objects.filter(account_id=account_id, phone_number=caller_id).exists():
        return True
    return Call.objects.filter(id=call_id, direction=Call.Direction.INBOUND, from_number=caller_id).exists()
