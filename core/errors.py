"""Twilio's error body (`code`, `message`, `more_info`, `status`) and the DRF handler that emits it."""

from enum import IntEnum
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import connection, transaction
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response

from core.parsers import pascal_case

MORE_INFO = "https://www.twilio.com/docs/errors/{code}"


class ErrorCode(IntEnum):
    """Twilio's error codes that the platform raises or records, each named after its title in Twilio's
    dictionary (https://www.twilio.com/docs/api/errors).

    The codes of TwiML itself (11750, 12100, 12102, 12200, 13xxx, 14xxx) are `twiml.errors.Code`, also
    where the platform reports them (a document too large, a Dial callerId refused); a code lives in one
    enum only. A member is its number in JSON, database rows, str() and f-strings (an IntEnum on 3.11).
    """

    INCOMING_CALL_REJECTED_INACTIVE_ACCOUNT = 10003
    INVALID_URL_FORMAT = 11100
    HTTP_RETRIEVAL_FAILURE = 11200
    HTTP_CONNECTION_FAILURE = 11205
    MEDIA_EXCEEDS_SIZE_LIMIT = 11751  # Twilio's for MMS media; here also for media a <Play> fetches
    INTERNAL_FAILURE = 12400  # of a TwiML document's processing, such as a redirect loop
    PLAY_INVALID_CONTENT_TYPE = 13420
    UNKNOWN_PARAMETERS = 20001  # also Twilio's answer for a required parameter missing
    PERMISSION_DENIED = 20003  # also credentials refused, with HTTP 401
    METHOD_NOT_ALLOWED = 20004
    ACCOUNT_NOT_ACTIVE = 20005
    PAGE_SIZE_TOO_LARGE = 20007  # and too small
    CANNOT_DELETE_BEFORE_COMPLETE = 20009
    NOT_FOUND = 20404
    INVALID_PARAMETER = 20422
    TOO_MANY_REQUESTS = 20429
    INTERNAL_SERVER_ERROR = 20500
    SERVICE_UNAVAILABLE = 20503
    INVALID_URL = 21205
    FROM_NOT_VERIFIED = 21210
    INVALID_TO_NUMBER = 21211
    INVALID_FROM_NUMBER = 21212
    TO_NOT_REACHABLE = 21214  # also a call no media server can place
    INVALID_CALL_STATE = 21220
    INVALID_PHONE_NUMBER = 21421
    PHONE_NUMBER_NOT_AVAILABLE = 21422
    NO_NUMBERS_IN_AREA_CODE = 21452
    SUBACCOUNT_CLOSED = 21479  # its Status cannot be updated
    INVALID_PAGE_TOKEN = 21481
    BODY_REQUIRED = 21602
    FROM_REQUIRED = 21603
    TO_REQUIRED = 21604
    FROM_NOT_MESSAGE_CAPABLE = 21606  # not a message-capable number of this account
    UNSUBSCRIBED_RECIPIENT = 21610
    BODY_TOO_LONG = 21617  # over 1600 characters, concatenated
    BODY_OR_MEDIA_REQUIRED = 21619
    INVALID_MEDIA_URL = 21620
    TOO_MANY_MEDIA = 21623
    INVALID_VALIDITY_PERIOD = 21624
    INVALID_MESSAGING_SERVICE_SID = 21705
    QUEUE_OVERFLOW = 30001
    ACCOUNT_SUSPENDED = 30002
    UNREACHABLE_DESTINATION_HANDSET = 30003
    UNKNOWN_DESTINATION_HANDSET = 30005
    LANDLINE_OR_UNREACHABLE_CARRIER = 30006
    MESSAGE_FILTERED = 30007  # by the carrier
    UNKNOWN_ERROR = 30008
    INVALID_MESSAGE_UPDATE = 30400  # ours: an update that is neither a redaction nor a cancel
    MESSAGE_CANNOT_BE_CANCELED = 30409
    TWIML_TOO_LONG = 32018  # the inline Twiml parameter, over 4000 characters
    SEND_AT_MISSING = 35111
    SEND_AT_NOT_SUPPORTED = 35114  # outside the scheduling window
    SCHEDULE_TYPE_NOT_SUPPORTED = 35126


class TwilioError(exceptions.APIException):
    """An error a client sees as Twilio would report it; raise it from any layer below the view."""

    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(detail=message)
        self.twilio_code = code
        self.status_code = status
        self.message = message


def error_body(code: int, message: str, status: int) -> dict[str, Any]:
    return {"code": code, "message": message, "more_info": MORE_INFO.format(code=code), "status": status}


def error_response(code: int, message: str, status: int) -> JsonResponse:
    """For code paths outside DRF (middleware, plain Django views)."""
    response = JsonResponse(error_body(code, message, status), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="Twilio API"'
    return response


def not_found(path: str) -> TwilioError:
    return TwilioError(ErrorCode.NOT_FOUND, f"The requested resource {path} was not found", 404)


def _first_validation_error(detail: Any) -> tuple[str, Any]:
    """Walk DRF's nested error structure to the first (field, ErrorDetail)."""
    if isinstance(detail, dict):
        field, value = next(iter(detail.items()))
        if isinstance(value, (list, dict)):
            _, inner = _first_validation_error(value)
            return field, inner
        return field, value
    if isinstance(detail, list):
        return _first_validation_error(detail[0]) if detail else ("", "")
    return "", detail


def _from_validation(exc: exceptions.ValidationError) -> TwilioError:
    field, detail = _first_validation_error(exc.detail)
    code = getattr(detail, "code", "")
    param = pascal_case(field) if field and field != "non_field_errors" else ""
    if isinstance(code, str) and code.isdigit():
        return TwilioError(int(code), str(detail), 400)
    if code == "required":
        return TwilioError(
            ErrorCode.UNKNOWN_PARAMETERS, f"Missing required parameter {param} in the post body", 400
        )
    message = f"Invalid parameter {param}: {detail}" if param else str(detail)
    return TwilioError(
        ErrorCode.UNKNOWN_PARAMETERS if code == "invalid_param" else ErrorCode.INVALID_PARAMETER, message, 400
    )


def to_twilio_error(exc: Exception, path: str) -> TwilioError | None:
    if isinstance(exc, TwilioError):
        return exc
    if isinstance(exc, (Http404, exceptions.NotFound)):
        return not_found(path)
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        return TwilioError(ErrorCode.PERMISSION_DENIED, "Authenticate", 401)
    if isinstance(exc, (PermissionDenied, exceptions.PermissionDenied)):
        return TwilioError(ErrorCode.PERMISSION_DENIED, "Permission denied", 403)
    if isinstance(exc, exceptions.MethodNotAllowed):
        return TwilioError(ErrorCode.METHOD_NOT_ALLOWED, "Method not allowed", 405)
    if isinstance(exc, exceptions.Throttled):
        return TwilioError(ErrorCode.TOO_MANY_REQUESTS, "Too Many Requests", 429)
    if isinstance(exc, exceptions.ValidationError):
        return _from_validation(exc)
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return TwilioError(
            ErrorCode.INVALID_PARAMETER,
            "Requests must be form-encoded (application/x-www-form-urlencoded)",
            415,
        )
    if isinstance(exc, exceptions.ParseError):
        return TwilioError(ErrorCode.INVALID_PARAMETER, str(exc.detail), 400)
    if isinstance(exc, RequestDataTooBig):
        return TwilioError(ErrorCode.INVALID_PARAMETER, "Request body too large", 413)
    if isinstance(exc, exceptions.APIException):
        return TwilioError(ErrorCode.INTERNAL_SERVER_ERROR, str(exc.detail), exc.status_code)
    return None


def twilio_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    request = context.get("request")
    error = to_twilio_error(exc, request.path if request is not None else "")
    if error is None:
        return None
    if connection.in_atomic_block:
        transaction.set_rollback(True)  # the request's transaction: a failed request writes nothing
    headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if error.status_code == 401 else {}
    return Response(
        error_body(error.twilio_code, error.message, error.status_code), error.status_code, headers=headers
    )
