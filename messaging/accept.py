"""Accept a batch of Messages API creates: per account, one transaction that authenticates each
distinct credential, counts every request against the rate limit and stores every message.

The Messages lane (messaging/api/lane.py) gathers the creates and calls `messages_accept` from its
batch thread. What this module cannot accept it leaves unanswered (None) for Django to answer, with
nothing written, so every error but one keeps the one code path that defines it (Django also counts a
refusal of credentials; this module does not). The one error answered here is 20429, the rate limit's
or that of an address or credential refused too often: a client over its limit must cost little, not
a Django request each.
"""

import dataclasses
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.tenancy import tenant_activate
from core.throttling import principal_rate_take
from messaging.create import MessageDraft, messages_create
from messaging.models import Message
from tenants.authentication import authenticate_api
from tenants.context import TenantContext
from tenants.models import Account

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CreateRequest:
    """A create that passed every check needing no database: its account, credentials and draft.

    The draft's actor is filled in once the credentials are known to be whose."""

    account_sid: str
    path: str
    authorization: str
    address: str  # the client's, which authentication counts refused credentials against
    draft: MessageDraft

    @property
    def credentials(self) -> tuple[str, str]:
        return (self.authorization, self.address)


# What a create comes to: its message, an error answered as it is, or None for Django to answer.
Outcome = Message | TwilioError | None


def _contexts(
    requests: Sequence[CreateRequest],
) -> tuple[dict[tuple[str, str], TenantContext], dict[tuple[str, str], TwilioError]]:
    """Each distinct Authorization header and client address: its context, if it authenticates for
    an active account, or the 20429 of credentials or an address refused too often. Other refusals
    are left to Django, which answers and counts them."""
    contexts, refused = {}, {}
    for authorization, address in {request.credentials for request in requests}:
        try:
            context = authenticate_api(
                authorization, requests[0].path, address=address, counts_failures=False
            )
        except TwilioError as error:
            if error.twilio_code == ErrorCode.TOO_MANY_REQUESTS:
                refused[(authorization, address)] = error
            continue
        if context.account.status == Account.Status.ACTIVE:
            contexts[(authorization, address)] = context
    return contexts, refused


def _too_many() -> TwilioError:
    return TwilioError(ErrorCode.TOO_MANY_REQUESTS, "Too Many Requests", 429)


def _accept_for_account(requests: Sequence[CreateRequest]) -> list[Outcome]:
    """One account's creates in one transaction."""
    outcomes: list[Outcome] = [None] * len(requests)
    with transaction.atomic():
        contexts, refused = _contexts(requests)
        for index, request in enumerate(requests):
            outcomes[index] = refused.get(request.credentials)
        known = [index for index, request in enumerate(requests) if request.credentials in contexts]
        waits = principal_rate_take([contexts[requests[index].credentials].principal.id for index in known])
        allowed = [index for index, wait in zip(known, waits, strict=True) if wait == 0.0]
        for index, wait in zip(known, waits, strict=True):
            if wait:
                outcomes[index] = _too_many()
        if not allowed:
            return outcomes
        drafts = [
            dataclasses.replace(requests[index].draft, actor=contexts[requests[index].credentials].actor)
            for index in allowed
        ]
        account = contexts[requests[allowed[0]].credentials].account
        tenant_activate(account.id)  # whichever credentials were checked last, the creates' account
        for index, result in zip(allowed, messages_create(account=account, drafts=drafts), strict=True):
            outcomes[index] = result if isinstance(result, Message) else None
    return outcomes


def messages_accept(requests: Sequence[CreateRequest]) -> list[Outcome]:
    """A batch of creates, one transaction per account: the message made for each, the error to
    answer, or None where Django should answer (nothing was written for either). An account whose
    transaction fails leaves all its creates to Django."""
    outcomes: list[Outcome] = [None] * len(requests)
    by_account: defaultdict[str, list[int]] = defaultdict(list)
    for index, request in enumerate(requests):
        by_account[request.account_sid].append(index)
    for indices in by_account.values():
        try:
            accepted = _accept_for_account([requests[index] for index in indices])
        except Exception:
            log.exception("messages accept: a batch of %d creates failed; Django answers them", len(indices))
            continue
        for index, outcome in zip(indices, accepted, strict=True):
            outcomes[index] = outcome
    return outcomes
