"""Portal pages for running an account (owners and admins): its auth token, and who works in it."""

from django.http import HttpRequest, HttpResponse

from tenants.models import ROLES_MANAGING_ACCOUNT
from tenants.portal import portal_view, render_page
from tenants.services import (
    auth_token_promote,
    auth_token_reveal,
    auth_token_secondary_create,
    auth_token_secondary_delete,
)


@portal_view(roles=ROLES_MANAGING_ACCOUNT)
def auth_token_view(request: HttpRequest) -> HttpResponse:
    """The auth token masked; a POST reveals it (audited) or rotates it the way Twilio does: create
    a secondary token, move the account's servers to it, promote it, and the old one stops working."""
    tenant = request.tenant  # type: ignore[attr-defined]
    account = tenant.account
    action = request.POST.get("action", "")
    has_secondary = account.secondary_auth_token is not None
    shown: dict[str, str | None] = {}
    if action == "reveal":
        shown = {"primary": auth_token_reveal(account=account, actor=tenant.actor)}
        shown["secondary"] = account.secondary_auth_token
    elif action == "secondary_create":
        shown = {"secondary": auth_token_secondary_create(account=account, actor=tenant.actor)}
    elif action == "promote" and has_secondary:
        auth_token_promote(account=account, actor=tenant.actor)
    elif action == "secondary_delete" and has_secondary:
        auth_token_secondary_delete(account=account, actor=tenant.actor)
    return render_page(
        request,
        "tenants/auth_token.html",
        "tenants/partials/auth_token.html",
        {"shown": shown, "account": account, "done": action},
    )
