"""Open the request's transaction and scope it to one tenant before any view runs."""

from collections.abc import Callable

from django.db import transaction
from django.http import HttpRequest, HttpResponse

from compliance.services import audit_held_to_commit
from core.errors import TwilioError
from core.middleware import API_PREFIXES
from tenants.authentication import authenticate_api, portal_context


class TenantMiddleware:
    """Every request runs in one transaction whose tenant is set with `set_config(..., true)`.

    A DRF view's error handler marks the transaction for rollback, so a failed request leaves no
    partial rows; the tenant setting ends with the transaction, so pooled connections carry nothing.
    The request's audit entries are appended at its end, right before the commit, so the account's
    chain head is locked only for that (`audit_held_to_commit`).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with transaction.atomic(), audit_held_to_commit():
            request.tenant = None  # type: ignore[attr-defined]
            request.tenant_error = None  # type: ignore[attr-defined]
            if request.path.startswith(API_PREFIXES):
                try:
                    request.tenant = authenticate_api(  # type: ignore[attr-defined]
                        request.META.get("HTTP_AUTHORIZATION", ""),
                        request.path,
                        address=request.META.get("REMOTE_ADDR") or "",
                    )
                except TwilioError as error:
                    request.tenant_error = error  # type: ignore[attr-defined]
            else:
                request.tenant = portal_context(user=request.user, session=request.session)  # type: ignore[attr-defined]
            return self.get_response(request)
