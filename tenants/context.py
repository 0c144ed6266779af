"""Who is acting, and on which account, for the current request or job."""

from dataclasses import dataclass

from tenants.models import Account, ApiKey, Membership, User


@dataclass(frozen=True)
class TenantContext:
    """`account` is the tenant the transaction is scoped to; `principal` is whose credentials were used.

    They differ when a parent account acts on one of its subaccounts, as Twilio allows.
    """

    account: Account
    principal: Account
    api_key: ApiKey | None = None
    user: User | None = None
    membership: Membership | None = None

    is_authenticated = True

    @property
    def via_portal(self) -> bool:
        return self.user is not None

    @property
    def actor(self) -> str:
        """The audit trail's actor string: who, precisely, did it."""
        if self.user is not None:
            return f"user:{self.user.email}"
        if self.api_key is not None:
            return f"api-key:{self.api_key.sid}"
        return f"account:{self.principal.sid}"
