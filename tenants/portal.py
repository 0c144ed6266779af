"""What every portal page shares: sign-in, two-factor and role checks, the htmx partial switch, and
the confirmation step before a destructive or costly action."""

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render

from tenants.context import TenantContext
from tenants.models import Role
from tenants.roles import ROLES_REQUIRING_2FA

View = Callable[..., HttpResponse]


class Refusal(Enum):
    """Why someone may not open a portal page or socket."""

    SIGNED_OUT = "signed-out"
    NO_ACCOUNT = "no-account"
    TWO_FACTOR = "two-factor"
    ROLE = "role"


def needs_two_factor(*, user: Any, role: str) -> bool:
    """Owners and admins must use 2FA; anyone who has set up a device must use it too."""
    from django_otp import user_has_device

    return role in ROLES_REQUIRING_2FA or user_has_device(user)


def portal_refusal(
    *,
    user: Any,
    tenant: TenantContext | None,
    is_verified: Callable[[], bool],
    roles: Collection[Role] | None,
) -> Refusal | None:
    """The portal's one rule, for its pages and its sockets alike: signed in, a member of the current
    account, 2FA-verified where required, and of an allowed role. None when all hold."""
    if not user.is_authenticated:
        return Refusal.SIGNED_OUT
    if tenant is None or tenant.membership is None:
        return Refusal.NO_ACCOUNT
    if needs_two_factor(user=user, role=tenant.membership.role) and not is_verified():
        return Refusal.TWO_FACTOR
    if roles is not None and tenant.membership.role not in roles:
        return Refusal.ROLE
    return None


def portal_view(*, roles: Collection[Role] | None = None) -> Callable[[View], View]:
    """A page for whom `portal_refusal` admits; the others are sent where they can go on."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            refusal = portal_refusal(
                user=user,
                tenant=getattr(request, "tenant", None),
                is_verified=lambda: user.is_verified(),  # type: ignore[union-attr]
                roles=roles,
            )
            if refusal is Refusal.SIGNED_OUT:
                return redirect(f"/login/?next={request.path}")
            if refusal is Refusal.NO_ACCOUNT:
                return render(request, "tenants/no_account.html", status=403)
            if refusal is Refusal.TWO_FACTOR:
                from django_otp import user_has_device

                return redirect("two-factor-verify" if user_has_device(user) else "two-factor-setup")
            if refusal is Refusal.ROLE:
                return HttpResponseForbidden("Your role in this account does not allow this page.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def render_page(request: HttpRequest, template: str, partial: str, context: dict[str, Any]) -> HttpResponse:
    """The full page, or only its `partial` block when htmx asks (one helper decides, as in NetBox).

    A history-restore request (the back button after htmx's cache is gone) needs the whole page.
    """
    htmx = getattr(request, "htmx", None)
    wants_fragment = bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]
    return render(request, partial if wants_fragment else template, context)


def confirmed(request: HttpRequest, token: str) -> bool:
    """Whether this request is the confirming POST of the `Confirmation` whose token is `token`."""
    return request.method == "POST" and request.POST.get("confirm") == token


@dataclass(frozen=True)
class Confirmation:
    """The second step of an action that cannot be taken back (releasing a number, revoking a key,
    sending an alert): a page saying what will happen, whose form posts `confirm=<token>` to
    `action_url` (else to the page's own URL). The view acts only when `confirmed`; a GET, or a POST
    without it (an old page's one-click form, a script), is shown this page. The token names the
    object, so one confirmation never stands for another.
    """

    title: str
    consequences: Sequence[str]
    button: str
    back_url: str
    token: str
    action_url: str = ""
    refusal: str = ""  # why it cannot be done now: shown instead of the button

    def render(self, request: HttpRequest) -> HttpResponse:
        return render(request, "confirm.html", {"confirmation": self})
