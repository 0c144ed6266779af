"""Template context every portal page needs: the current account and the user's other accounts."""

from typing import Any

from django.http import HttpRequest

from tenants.models import Membership


def portal(request: HttpRequest) -> dict[str, Any]:
    tenant = getattr(request, "tenant", None)
    if tenant is None or not tenant.via_portal:
        return {}
    memberships = (
        Membership.objects.filter(user=tenant.user).select_related("account").order_by("date_created")
    )
    return {"tenant": tenant, "memberships": list(memberships)}
