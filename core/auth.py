"""DRF authentication that reads the tenant resolved by the tenant middleware.

The middleware authenticates first because it must set the transaction's tenant before anything
touches a table; this class only turns its verdict into DRF's user and Twilio's errors.
"""

from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from core.errors import TwilioError


class TwilioBasicAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        error: TwilioError | None = getattr(request._request, "tenant_error", None)
        if error is not None:
            raise error
        tenant = getattr(request._request, "tenant", None)
        if tenant is None or tenant.via_portal:
            return None
        return (tenant, None)

    def authenticate_header(self, request: Request) -> str:
        return 'Basic realm="Twilio API"'
