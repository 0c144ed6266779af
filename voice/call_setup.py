"""The setup of a call task, read from its call once it starts, inbound (voice.inbound) or outbound
(voice.origination)."""

import uuid
from dataclasses import dataclass

from tenants.models import Account
from voice.models import Call


@dataclass(frozen=True)
class CallSetup:
    """What a call task needs to run a call, read once when the call starts."""

    account_id: uuid.UUID
    call_id: uuid.UUID
    call_sid: str
    account_sid: str
    auth_token: str
    from_number: str
    to_number: str
    direction: str
    url: str
    method: str
    fallback_url: str
    fallback_method: str
    twiml: str


def call_setup_of(call: Call, account: Account) -> CallSetup:
    """Inside the call's tenant scope."""
    return CallSetup(
        account_id=account.id,
        call_id=call.id,
        call_sid=call.sid,
        account_sid=account.sid,
        auth_token=account.auth_token,
        from_number=call.from_number,
        to_number=call.to_number,
        direction=call.direction,
        url=call.url,
        method=call.method,
        fallback_url=call.fallback_url,
        fallback_method=call.fallback_method,
        twiml=call.twiml,
    )
