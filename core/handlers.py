"""Django's last-resort error view for the whole site (`handler500` in config/urls.py).

An API client still gets Twilio's error body, and a database that is away (restarting, failing
over) is a 503 with Retry-After rather than a 500, so clients and Twilio's SDK-based apps retry
instead of recording a failure: the request's transaction did not commit (only a connection lost
during COMMIT itself leaves that unknown, which no status code can tell).
"""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.views import defaults

from core.error_codes import ErrorCode
from core.errors import error_response
from core.middleware import API_PREFIXES

RETRY_AFTER_SECONDS = 1


def server_error(request: HttpRequest) -> HttpResponse:
    unavailable = isinstance(sys.exc_info()[1], (OperationalError, InterfaceError))
    if request.path.startswith(API_PREFIXES):
        response: HttpResponse = (
            error_response(ErrorCode.SERVICE_UNAVAILABLE, "Service unavailable; retry the request", 503)
            if unavailable
            else error_response(ErrorCode.INTERNAL_SERVER_ERROR, "Internal server error", 500)
        )
    elif unavailable:
        response = HttpResponse("Switchboard is briefly unavailable; try again in a moment.", status=503)
    else:
        return defaults.server_error(request)
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
