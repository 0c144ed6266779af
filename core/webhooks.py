"""The one webhook client every feature uses: Twilio's request signature and a bounded HTTP call.

Signing follows Twilio's algorithm: HMAC-SHA1, keyed with the account's auth token, over the full
URL followed by each POST parameter's name and value in sorted order; base64 in X-Twilio-Signature.
A GET carries its parameters in the query string, which is then part of the signed URL. Requests
go through `core.egress`, the destination policy every tenant-chosen URL is fetched under.
"""

import base64
import hashlib
import hmac
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from core import egress
from core.error_codes import ErrorCode

Params = Mapping[str, str | Sequence[str]]
USER_AGENT = "TwilioProxy/1.1 (Switchboard)"
TIMEOUT_SECONDS = 15.0  # Twilio's: the whole request, connection included
MAX_BODY_BYTES = 64 * 1024  # of an answer, read at most (a TwiML document's limit too)


def _pairs(params: Params) -> list[tuple[str, str]]:
    pairs = []
    for name, value in params.items():
        values = [value] if isinstance(value, str) else list(value)
        pairs += [(name, str(v)) for v in values]
    return pairs


def signature(url: str, params: Params, auth_token: str) -> str:
    """X-Twilio-Signature for a POST of `params` to `url` (pass no params for a GET)."""
    payload = url
    for name in sorted({name for name, _ in _pairs(params)}):
        for value in sorted({v for n, v in _pairs(params) if n == name}):
            payload += name + value
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def url_with_query(url: str, params: Params) -> str:
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(_pairs(params))]))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


@dataclass(frozen=True)
class WebhookResponse:
    status_code: int | None  # None when no HTTP response came back at all
    body: str
    headers: str
    error: str = ""
    error_code: int | None = None  # Twilio's runtime error code when the delivery failed

    @property
    def is_success(self) -> bool:
        return self.error_code is None


@dataclass(frozen=True)
class SignedRequest:
    method: str
    url: str
    body: str | None
    headers: dict[str, str]


def build_request(*, url: str, method: str, params: Params, auth_token: str) -> SignedRequest:
    """The signed request for `params`: in the query string for GET, a form body otherwise."""
    method = method.upper()
    headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
    if method == "GET":
        target = url_with_query(url, params)
        headers["X-Twilio-Signature"] = signature(target, {}, auth_token)
        return SignedRequest(method, target, None, headers)
    headers["X-Twilio-Signature"] = signature(url, params, auth_token)
    headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    return SignedRequest(method, url, urlencode(_pairs(params)), headers)


def _text(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: where it came from (after redirects), its body as read, and as the log keeps it."""

    url: str
    content: bytes  # at most MAX_BODY_BYTES + 1 bytes, so a caller can tell "too large"
    response: WebhookResponse  # failed (11200) when the status is 400 or above


class NoAnswer(Exception):
    """No HTTP answer came: Twilio's code (11205, a refusal's, 11100) and why."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason

    @property
    def response(self) -> WebhookResponse:
        """The failure as the error log keeps a delivery's."""
        return WebhookResponse(None, "", "", self.reason, self.code)


@contextmanager
def _no_answer_raised(url: str) -> Iterator[None]:
    """httpx's failures to get an answer, and a URL it cannot even parse, as NoAnswer."""
    try:
        yield
    except httpx.HTTPError as exc:
        raise NoAnswer(*egress.failure(exc, url)) from exc
    except (httpx.InvalidURL, ValueError) as exc:  # ValueError: IDNA's, for a host no name can have
        raise NoAnswer(ErrorCode.INVALID_URL_FORMAT, f"{url} is not a valid URL") from exc


def _answer(fetched: egress.Fetched) -> Answer:
    response = fetched.response
    header_text = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    body = _text(fetched.body[:MAX_BODY_BYTES], response.charset_encoding)
    status = response.status_code
    logged = WebhookResponse(status, body, header_text)
    if status >= 400:
        logged = WebhookResponse(
            status, body, header_text, f"HTTP {status}", ErrorCode.HTTP_RETRIEVAL_FAILURE
        )
    return Answer(str(response.url), fetched.body, logged)


def request(
    *, url: str, method: str, params: Params, auth_token: str, timeout: float | None = None
) -> Answer:
    """Make one signed request, within `timeout` (Twilio's 15 s) for the whole of it; NoAnswer when
    none came."""
    seconds = timeout or TIMEOUT_SECONDS
    with _no_answer_raised(url):
        signed = build_request(url=url, method=method, params=params, auth_token=auth_token)
        with egress.client(timeout=seconds) as client:
            fetched = egress.fetch(
                client, signed.method, signed.url, deadline_s=seconds, max_bytes=MAX_BODY_BYTES,
                content=signed.body, headers=signed.headers,
            )  # fmt: skip
    return _answer(fetched)


async def request_async(
    http: httpx.AsyncClient,
    *,
    url: str,
    method: str,
    params: Params,
    auth_token: str,
    timeout: float | None = None,
) -> Answer:
    """`request` for asyncio, through the caller's client (an `egress.async_client`)."""
    with _no_answer_raised(url):
        signed = build_request(url=url, method=method, params=params, auth_token=auth_token)
        fetched = await egress.fetch_async(
            http, signed.method, signed.url, deadline_s=timeout or TIMEOUT_SECONDS, max_bytes=MAX_BODY_BYTES,
            content=signed.body, headers=signed.headers,
        )  # fmt: skip
    return _answer(fetched)


def send(
    *, url: str, method: str, params: Params, auth_token: str, timeout: float | None = None
) -> WebhookResponse:
    """`request` that never raises: it reports failures, a URL it cannot even parse included (11100)."""
    try:
        return request(url=url, method=method, params=params, auth_token=auth_token, timeout=timeout).response
    except NoAnswer as failed:
        return failed.response


def _port_variants(url: str) -> list[str]:
    """The URL as given, without its port, and with the scheme's default port (Twilio accepts each)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    default = {"https": 443, "http": 80}.get(parts.scheme)
    bare = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    variants = [url, bare]
    if default and parts.port is None:
        variants.append(
            urlunsplit((parts.scheme, f"{host}:{default}", parts.path, parts.query, parts.fragment))
        )
    return variants


def is_valid_signature(url: str, params: Params, auth_token: str, received: str) -> bool:
    """Check an incoming X-Twilio-Signature in constant time, as Twilio's own validators do."""
    return any(
        hmac.compare_digest(signature(candidate, params, auth_token), received)
        for candidate in _port_variants(url)
    )
