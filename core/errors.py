"""Twilio's error body (`code`, `message`, `more_info`, `status`) and the DRF handler that emits it."""

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import connection, transaction
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response

from core.error_codes import ErrorCode
from core.parsers import pascal_case

MORE_INFO = "https://www.twilio.com/docs/errors/{code}"


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
