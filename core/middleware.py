"""Checks on API requests that must happen before Django or DRF parse them."""

from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.errors import error_response

# The Twilio-compatible API and the native one; both authenticate with the account's credentials.
API_PREFIXES = ("/2010-04-01/", "/api/v1/")


class TwilioRequestGuardMiddleware:
    """Refuse oversized bodies and undecodable query strings on the API with Twilio's error body."""

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
            if not length.isdigit() or int(length) > limit:
                return error_response(20422, "Request body too large", 413)
            try:
                unquote_to_bytes(request.META.get("QUERY_STRING", "")).decode("utf-8")
            except UnicodeDecodeError:
                return error_response(20422, "Query string is not valid UTF-8", 400)
        return self.get_response(request)
