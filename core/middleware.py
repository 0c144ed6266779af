"""The request guard: checks on API requests that must happen before Django or DRF parse them, and
the security headers of every response. Django's middleware below and the ASGI apps in front of
Django (messaging/api/lane.py) both use it, so an answer is guarded the same whichever gives it."""

import io
from collections.abc import Callable
from functools import cache
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.request import split_domain_port, validate_host
from django.http.response import HttpResponseBase
from django.utils.deprecation import MiddlewareMixin
from django.utils.module_loading import import_string

from core.error_codes import ErrorCode
from core.errors import TwilioError, error_response
from core.parsers import natural_number, unstorable

# The Twilio-compatible API (with the resources of accounts.twilio.com and taskrouter.twilio.com under
# /accounts/v1/ and /taskrouter/v1/, the built-in agents' under /ai/v1/) and the native one; all
# authenticate with the account's credentials.
TWILIO_API_PREFIXES = ("/2010-04-01/", "/accounts/v1/", "/taskrouter/v1/", "/ai/v1/")
API_PREFIXES = (*TWILIO_API_PREFIXES, "/api/v1/")

# The middleware of settings.MIDDLEWARE that only add headers to a response: what an answer given in
# front of Django must also carry.
HEADER_MIDDLEWARE = frozenset(
    {
        "django.middleware.security.SecurityMiddleware",
        "core.middleware.ContentSecurityPolicyMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    }
)


def api_body_limit(path: str) -> int:
    """The largest body an API route takes: its own from settings.API_BODY_LIMITS, else Django's."""
    return next(
        (size for prefix, size in settings.API_BODY_LIMITS.items() if path.startswith(prefix)),
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
    )


def request_refusal(
    *, path: str, content_length: str, query_string: str, query: QueryDict | None = None
) -> TwilioError | None:
    """Why an API request is refused before any view reads it: a body over its route's limit (or of
    unreadable length), a query string that is not UTF-8, a query value the database cannot hold (a
    NUL). None for a request that passes, and for any request outside the API. `query` is the query
    string already parsed, where Django has it (`request.GET`, which the view reads again)."""
    if not path.startswith(API_PREFIXES):
        return None
    size = natural_number(content_length or "0")
    if size is None or size > api_body_limit(path):
        return TwilioError(ErrorCode.INVALID_PARAMETER, "Request body too large", 413)
    if not query_string:
        return None
    try:
        unquote_to_bytes(query_string).decode("utf-8")
    except UnicodeDecodeError:
        return TwilioError(ErrorCode.INVALID_PARAMETER, "Query string is not valid UTF-8", 400)
    # Every list filter becomes a query parameter; one PostgreSQL cannot hold would fail there.
    for name, values in (QueryDict(query_string) if query is None else query).lists():
        problem = next(filter(None, map(unstorable, [name, *values])), None)
        if problem:
            return TwilioError(ErrorCode.INVALID_PARAMETER, f"Invalid parameter {name}: {problem}", 400)
    return None


def host_is_allowed(host: str) -> bool:
    """Whether Django would serve a request with this Host header (settings.ALLOWED_HOSTS)."""
    domain, _ = split_domain_port(host)
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


def redirects_to_https(scheme: str) -> bool:
    """Whether Django's SecurityMiddleware may answer a request of this scheme with a redirect."""
    return bool(settings.SECURE_SSL_REDIRECT) and scheme != "https"


@cache
def response_headers(scheme: str) -> tuple[tuple[bytes, bytes], ...]:
    """The headers the header-only middleware of settings.MIDDLEWARE add to an answer, in ASGI form:
    taken once per scheme from that middleware itself, in settings order, rather than written out."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "scheme": scheme,
        "headers": [],
        "query_string": b"",
    }

    def empty(_: HttpRequest) -> HttpResponseBase:
        return HttpResponse()

    handler: Callable[[HttpRequest], HttpResponseBase] = empty
    for path in reversed([path for path in settings.MIDDLEWARE if path in HEADER_MIDDLEWARE]):
        handler = import_string(path)(handler)
    response = handler(ASGIRequest(scope, io.BytesIO()))
    return tuple(
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in response.headers.items()
        if name.lower() != "content-type"
    )


class TwilioRequestGuardMiddleware:
    """Answer the requests `request_refusal` refuses with Twilio's error body, for every view at once."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = request_refusal(
            path=request.path,
            content_length=request.META.get("CONTENT_LENGTH", ""),
            query_string=request.META.get("QUERY_STRING", ""),
            query=request.GET,
        )
        if refusal is not None:
            return error_response(refusal.twilio_code, refusal.message, refusal.status_code)
        return self.get_response(request)


class ContentSecurityPolicyMiddleware(MiddlewareMixin):
    """Put settings.CONTENT_SECURITY_POLICY on every response that brings no policy of its own (the
    API docs page does): pages run only the scripts and styles the app serves itself."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response
