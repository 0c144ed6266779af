"""The <Sms> verb's text, sent on a call's behalf."""

import uuid

from core.tenancy import tenant_scope
from tenants.models import Account
from voice.models import Call


def call_sms_send(
    *, account_id: uuid.UUID, call_id: uuid.UUID, to: str, from_: str, body: str, status_callback: str
) -> str:
    """The <Sms> verb: queue a text on the call's behalf and return its SID.

    It is an ordinary message (direction outbound-call, linked to the call), so it lands in the same
    conversation as the call, and the caller's replies follow it there. Raises TwilioError (21211,
    21606, 21610, ...) when messaging refuses it; nothing is stored then.
    """
    from messaging.create import MessageDraft, message_create
    from messaging.models import Message

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
