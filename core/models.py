"""Abstract bases shared by every tenant-owned model, and saving one against its unique constraints."""

from typing import Any

from django.db import IntegrityError, models, transaction

from core.errors import TwilioError
from core.sids import SidModel


class TenantQuerySet(models.QuerySet):
    def for_account(self, account: models.Model) -> "TenantQuerySet":
        """The application-side scope; PostgreSQL RLS enforces the same rule underneath."""
        return self.filter(account=account)


class TenantModel(SidModel):
    """A row owned by one account. Its table must be put under RLS in the model's migration."""

    account = models.ForeignKey("tenants.Account", on_delete=models.CASCADE, related_name="+")
    date_created = models.DateTimeField(auto_now_add=True)
    date_updated = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


def save_unique(row: models.Model, refusal: TwilioError, **save_kwargs: Any) -> None:
    """Save `row`; a unique constraint it breaks (a name or number already taken) raises `refusal`,
    Twilio's answer, rather than IntegrityError. The savepoint keeps the caller's transaction usable."""
    try:
        with transaction.atomic():
            row.save(**save_kwargs)
    except IntegrityError as exc:
        raise refusal from exc
