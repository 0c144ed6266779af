"""The Messages API's create, answered by an ASGI app in front of Django, in batches.

Through Django a create costs a transaction and a commit of its own, besides the middleware and DRF.
Here a `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with a form body and Basic credentials
passes the request guard Django's middleware uses (core/middleware.py), is parsed and validated in
the event loop with the API's own parser and serializer, then waits for the process's batch thread
(core/batching.py), which hands every create queued meanwhile to `messages_accept`
(messaging/accept.py): per account, one transaction. The 201 is the API's own output serializer's,
with the headers of Django's header middleware.

Everything else goes to Django untouched, and so does any create the lane cannot answer: whatever
`messages_accept` leaves unanswered, and a batch that failed. Nothing was written for those, so
Django's second look is safe. The one error answered here is the 20429 `messages_accept` gives.
"""

import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import cache
from typing import Any

from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.renderers import JSONRenderer

from core.batching import ThreadBatcher
from core.db import db_work
from core.errors import TwilioError, error_body
from core.middleware import host_is_allowed, redirects_to_https, request_refusal, response_headers
from core.parsers import parse_form
from messaging.accept import CreateRequest, Outcome, messages_accept
from messaging.api.serializers import MessageCreateInput, MessageOutput, message_draft

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC[0-9a-fA-F]{32})/Messages\.json$")
FORM = "application/x-www-form-urlencoded"
MAX_BATCH = 250  # creates per batch; one account's share is one transaction


def _accept_batch(requests: Sequence[CreateRequest]) -> list[Outcome]:
    """`messages_accept` on the batch thread, a unit of database work as a request would be."""
    return db_work(lambda: messages_accept(requests))


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


def _is_eligible(scope: Scope) -> bool:
    """What can be checked before reading the body: a form with Basic credentials and a length, with
    no query string (Twilio's clients send none), that the request guard lets through to a view."""
    length = _header(scope, b"content-length")
    return (
        _header(scope, b"content-type").partition(";")[0].strip().lower() == FORM
        and _header(scope, b"authorization")[:6].lower() == "basic "
        and length != ""
        and not scope.get("query_string")
        and request_refusal(path=scope["path"], content_length=length, query_string="") is None
        and host_is_allowed(_header(scope, b"host"))
        and not redirects_to_https(scope.get("scheme", "http"))
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


def _parsed(scope: Scope, body: bytes, account_sid: str) -> CreateRequest | None:
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
    return CreateRequest(
        account_sid=account_sid,
        path=scope["path"],
        authorization=_header(scope, b"authorization"),
        address=str(client[0]) if client else "",
        draft=message_draft(data, actor=""),  # whose it is, messages_accept finds out
    )


def _response_headers(scope: Scope, length: int) -> list[tuple[bytes, bytes]]:
    """What Django, DRF and Django's header middleware put on the same answer (the test that both
    answer a create alike keeps them in step)."""
    return [
        (b"content-type", b"application/json"),
        (b"content-length", str(length).encode()),
        (b"allow", b"GET, POST, HEAD, OPTIONS"),
        *response_headers(scope.get("scheme", "http")),
    ]


class MessagesCreateLane:
    """ASGI middleware: creates of messages in batches, every other request to `app` (Django)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.batches: ThreadBatcher[CreateRequest, Outcome] = ThreadBatcher(
            _accept_batch, max_batch=MAX_BATCH, name="messages-lane"
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
