"""Checks on API requests that must happen before Django or DRF parse them, and the security
headers of every response."""

from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.deprecation import MiddlewareMixin

from core.errors import error_response
from core.parsers import natural_number, unstorable

# The Twilio-compatible API (with accounts.twilio.com's resources under /accounts/v1/) and the native
# one; all authenticate with the account's credentials.
API_PREFIXES = ("/2010-04-01/", "/accounts/v1/", "/api/v1/")


class TwilioRequestGuardMiddleware:
    """Refuse oversized bodies, undecodable query strings and query values the database cannot hold
    (a NUL) on the API with Twilio's error body, for every view at once."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIXES):
            length = request.META.get("CONTENT_LENGTH") or "0"
            routes = settings.API_BODY_LIMITS.items()  # the few routes that take more
            limit = next(
                (size for prefix, size in routes if request.path.startswith(prefix)),
                settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
            )
            size = natural_number(length)
            if size is None or size > limit:
                return error_response(20422, "Request body too large", 413)
            try:
                unquote_to_bytes(request.META.get("QUERY_STRING", "")).decode("utf-8")
            except UnicodeDecodeError:
                return error_response(20422, "Query string is not valid UTF-8", 400)
            # Every list filter becomes a query parameter; one PostgreSQL cannot hold would fail there.
            for name, values in request.GET.lists():
                problem = next(filter(None, map(unstorable, [name, *values])), None)
                if problem:
                    return error_response(20422, f"Invalid parameter {name}: {problem}", 400)
        return self.get_response(request)


class ContentSecurityPolicyMiddleware(MiddlewareMixin):
    """Put settings.CONTENT_SECURITY_POLICY on every response that brings no policy of its own (the
    API docs page does): pages run only the scripts and styles the app serves itself."""

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response
