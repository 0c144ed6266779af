"""The Messages API's create, answered by an ASGI app in front of Django, in batches.

Through Django a create cost about 10 ms of CPU (the middleware, DRF, a transaction and a commit of
its own), which held two server processes near 100 accepted/s. Here a `POST
/2010-04-01/Accounts/{AccountSid}/Messages.json` with a form body and Basic credentials is parsed
and validated in the event loop with the API's own parser and serializer, then waits for the
process's batch thread (core/batching.py). That thread takes every create queued meanwhile and, per
account, runs one transaction: authenticate (the function the tenant middleware calls), count the
request against the rate limit, `messages_create` them all, commit. The 201 is the API's own output
serializer's.

Everything else goes to Django untouched, and so does any create the lane cannot answer with a 201:
credentials refused, an account not active, invalid input, a draft the service refused, a batch that
failed. Nothing was written for those, so Django's second look is safe, and every error keeps the
one code path that defines it (Django also counts a refusal of credentials; the lane does not). The
one error answered here is 20429, the rate limit's or that of an address or credential refused too
often: a client over its limit must cost little, not a Django request each.
"""

import io
import logging
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections, transaction
from django.http import HttpResponse
from django.http.request import split_domain_port, validate_host
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.renderers import JSONRenderer

from core.batching import ThreadBatcher
from core.errors import TwilioError, error_body
from core.middleware import ContentSecurityPolicyMiddleware
from core.parsers import natural_number, parse_form
from core.tenancy import tenant_activate
from core.throttling import principal_rate_take
from messaging.api.serializers import MessageCreateInput, MessageOutput, message_draft
from messaging.create import messages_create
from messaging.models import Message
from tenants.authentication import authenticate_api
from tenants.context import TenantContext
from tenants.models import Account

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC[0-9a-fA-F]{32})/Messages\.json$")
FORM = "application/x-www-form-urlencoded"
MAX_BATCH = 250  # creates per batch; one account's share is one transaction


@dataclass(frozen=True)
class Create:
    """A create request that passed the checks needing no database: its account, credentials, input."""

    account_sid: str
    path: str
    authorization: str
    address: str  # the client's, which authentication counts refused credentials against
    data: dict[str, Any]  # MessageCreateInput's validated data

    @property
    def credentials(self) -> tuple[str, str]:
        return (self.authorization, self.address)


# The batch thread ---------------------------------------------------------------------------------


def _contexts(
    creates: Sequence[Create],
) -> tuple[dict[tuple[str, str], TenantContext], dict[tuple[str, str], TwilioError]]:
    """Each distinct Authorization header and client address: its context, if it authenticates for
    an active account, or the 20429 of credentials or an address refused too often (answered here,
    as the rate limit's is). Other refusals are left to Django, which answers and counts them."""
    contexts, refused = {}, {}
    for authorization, address in {create.credentials for create in creates}:
        try:
            context = authenticate_api(authorization, creates[0].path, address=address, counts_failures=False)
        except TwilioError as error:
            if error.twilio_code == 20429:
                refused[(authorization, address)] = error
            continue
        if context.account.status == Account.Status.ACTIVE:
            contexts[(authorization, address)] = context
    return contexts, refused


# What a create comes to: its message, an error the lane answers itself, or None for Django to answer.
Outcome = Message | TwilioError | None


def _too_many() -> TwilioError:
    """Answered here, not by Django: a client over its rate must cost little, not a Django request."""
    return TwilioError(20429, "Too Many Requests", 429)


def _accept_for_account(creates: Sequence[Create]) -> list[Outcome]:
    """One account's creates in one transaction."""
    outcomes: list[Outcome] = [None] * len(creates)
    with transaction.atomic():
        contexts, refused = _contexts(creates)
        for index, create in enumerate(creates):
            outcomes[index] = refused.get(create.credentials)
        known = [index for index, create in enumerate(creates) if create.credentials in contexts]
        waits = principal_rate_take([contexts[creates[index].credentials].principal.id for index in known])
        allowed = [index for index, wait in zip(known, waits, strict=True) if wait == 0.0]
        for index, wait in zip(known, waits, strict=True):
            if wait:
                outcomes[index] = _too_many()
        if not allowed:
            return outcomes
        drafts = [
            message_draft(creates[index].data, actor=contexts[creates[index].credentials].actor)
            for index in allowed
        ]
        account = contexts[creates[allowed[0]].credentials].account
        tenant_activate(account.id)  # whichever credentials were checked last, the creates' account
        for index, result in zip(allowed, messages_create(account=account, drafts=drafts), strict=True):
            outcomes[index] = result if isinstance(result, Message) else None
    return outcomes


def accept(creates: Sequence[Create]) -> list[Outcome]:
    """A batch of creates, one transaction per account: the message made for each, the error the
    lane answers, or None where Django should answer (nothing was written for either). An account
    whose transaction fails leaves all its creates to Django."""
    close_old_connections()  # what Django's request signals do around a request
    outcomes: list[Outcome] = [None] * len(creates)
    by_account: defaultdict[str, list[int]] = defaultdict(list)
    for index, create in enumerate(creates):
        by_account[create.account_sid].append(index)
    for indices in by_account.values():
        try:
            accepted = _accept_for_account([creates[index] for index in indices])
        except Exception:
            log.exception("messages lane: a batch of %d creates failed; Django answers them", len(indices))
            continue
        for index, outcome in zip(indices, accepted, strict=True):
            outcomes[index] = outcome
    close_old_connections()
    return outcomes


# The ASGI side ------------------------------------------------------------------------------------


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


def _is_eligible(scope: Scope) -> bool:
    """What can be checked before reading the body: a form with Basic credentials, within the size
    limit, to an allowed host, with no query string (Twilio's clients send none)."""
    length = natural_number(_header(scope, b"content-length"))
    host, _ = split_domain_port(_header(scope, b"host"))
    return (
        _header(scope, b"content-type").partition(";")[0].strip().lower() == FORM
        and _header(scope, b"authorization")[:6].lower() == "basic "
        and length is not None
        and length <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        and not scope.get("query_string")
        and validate_host(host, settings.ALLOWED_HOSTS)
        and not (settings.SECURE_SSL_REDIRECT and scope.get("scheme") != "https")
    )


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body, or None if the client went away first."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives Django the body already read, then whatever the client sends next."""
    sent = False

    async def replayed() -> Mapping[str, Any]:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


@cache
def _input() -> MessageCreateInput:
    """One serializer for the process: building one deep-copies its fields, which cost more than
    validating; `run_validation` keeps no state on it, and only the event loop's thread uses it."""
    return MessageCreateInput()


def _parsed(scope: Scope, body: bytes, account_sid: str) -> Create | None:
    """The create, if its input is valid; None leaves the request (and its error) to Django."""
    try:
        form = parse_form(body)
    except ParseError:
        return None
    try:
        data = _input().run_validation(form)
    except ValidationError:
        return None
    client = scope.get("client")
    return Create(
        account_sid=account_sid,
        path=scope["path"],
        authorization=_header(scope, b"authorization"),
        address=str(client[0]) if client else "",
        data=data,
    )


@cache
def _middleware_headers(scheme: str) -> tuple[tuple[bytes, bytes], ...]:
    """The headers Django's response middleware adds to an API answer (security, content policy,
    framing), taken once per scheme from that middleware itself rather than written out again here."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "scheme": scheme,
        "headers": [],
        "query_string": b"",
    }
    request = ASGIRequest(scope, io.BytesIO())
    response = cast(
        HttpResponse,
        SecurityMiddleware(
            ContentSecurityPolicyMiddleware(XFrameOptionsMiddleware(lambda _: HttpResponse()))
        )(request),
    )
    return tuple(
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in response.headers.items()
        if name.lower() != "content-type"
    )


def _response_headers(scope: Scope, length: int) -> list[tuple[bytes, bytes]]:
    """What Django and DRF put on the same answer."""
    return [
        (b"content-type", b"application/json"),
        (b"content-length", str(length).encode()),
        (b"vary", b"Accept"),
        (b"allow", b"GET, POST, HEAD, OPTIONS"),
        *_middleware_headers(scope.get("scheme", "http")),
    ]


class MessagesCreateLane:
    """ASGI middleware: creates of messages in batches, every other request to `app` (Django)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.batches: ThreadBatcher[Create, Outcome] = ThreadBatcher(
            accept, max_batch=MAX_BATCH, name="messages-lane"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None or scope["method"] != "POST" or not _is_eligible(scope):
            return await self.app(scope, receive, send)
        body = await _read_body(receive)
        if body is None:
            return None
        create = _parsed(scope, body, match["sid"])
        try:
            outcome = await self.batches.submit(create) if create is not None else None
        except Exception:  # the batch thread itself failed; Django answers
            log.exception("messages lane: batch failed")
            outcome = None
        if outcome is None:
            return await self.app(scope, _replay(body, receive), send)
        if isinstance(outcome, TwilioError):
            status, data = (
                outcome.status_code,
                error_body(outcome.twilio_code, outcome.message, outcome.status_code),
            )
        else:
            status, data = 201, MessageOutput().to_representation(outcome)
        payload = JSONRenderer().render(data)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": _response_headers(scope, len(payload)),
            }
        )
        await send({"type": "http.response.body", "body": payload})
        return None
