"""Abstract bases shared by every tenant-owned model."""

from django.db import models

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
