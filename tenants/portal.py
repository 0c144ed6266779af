"""What every portal page shares: sign-in, two-factor and role checks, the htmx partial switch, and
the confirmation step before a destructive or costly action."""

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render

from tenants.models import Role
from tenants.roles import ROLES_REQUIRING_2FA

View = Callable[..., HttpResponse]


def needs_two_factor(request: HttpRequest) -> bool:
    """Owners and admins must use 2FA; anyone who has set up a device must use it too."""
    from django_otp import user_has_device

    tenant = request.tenant  # type: ignore[attr-defined]
    return tenant.membership.role in ROLES_REQUIRING_2FA or user_has_device(request.user)


def portal_view(*, roles: Collection[Role] | None = None) -> Callable[[View], View]:
    """Signed in, a member of the current account, 2FA-verified where required, and of an allowed role."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            tenant = getattr(request, "tenant", None)
            if not request.user.is_authenticated:
                return redirect(f"/login/?next={request.path}")
            if tenant is None:
                return render(request, "tenants/no_account.html", status=403)
            if needs_two_factor(request) and not request.user.is_verified():  # type: ignore[attr-defined]
                from django_otp import user_has_device

                return redirect("two-factor-verify" if user_has_device(request.user) else "two-factor-setup")
            if roles is not None and tenant.membership.role not in roles:
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

    def render(self, request: HttpRequest) -> HttpResponse:
        return render(request, "confirm.html", {"confirmation": self})
