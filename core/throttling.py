"""Per-account request rate limit; over it, clients get 429 with Twilio's 20429 (safe to retry)."""

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


class AccountRateThrottle(SimpleRateThrottle):
    scope = "account"

    def get_rate(self) -> str:
        return f"{settings.API_RATE_PER_SECOND}/s"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        tenant = getattr(request._request, "tenant", None)
        if tenant is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": tenant.principal.id.hex}
