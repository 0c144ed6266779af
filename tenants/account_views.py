"""Portal pages for running an account: its auth token and who works in it (owners and admins), and
the invitation link people join through."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_otp import user_has_device

from core.sids import sid_to_uuid
from tenants.forms import InviteForm, NewMemberForm
from tenants.invitations import (
    InvitationRefused,
    invitation_accept,
    invitation_create,
    invitation_get,
    invitation_revoke,
)
from tenants.models import Invitation, Membership, Role, User
from tenants.portal import portal_view, render_page
from tenants.roles import ROLES_MANAGING_ACCOUNT, roles_grantable_by
from tenants.services import (
    auth_token_promote,
    auth_token_reveal,
    auth_token_secondary_create,
    auth_token_secondary_delete,
)


@portal_view(roles=ROLES_MANAGING_ACCOUNT)
def auth_token_view(request: HttpRequest) -> HttpResponse:
    """The auth token masked; a POST reveals it (audited) or rotates it the way Twilio does: create
    a secondary token, move the account's servers to it, promote it, and the old one stops working.
    Promoting and deleting take a second, confirming POST."""
    tenant = request.tenant  # type: ignore[attr-defined]
    account = tenant.account
    action = request.POST.get("action", "")
    has_secondary = account.secondary_auth_token is not None
    is_confirmed = request.POST.get("confirmed") == "yes"
    confirm = ""
    shown: dict[str, str | None] = {}
    if action == "reveal":
        shown = {"primary": auth_token_reveal(account=account, actor=tenant.actor)}
        shown["secondary"] = account.secondary_auth_token
    elif action == "secondary_create":
        shown = {"secondary": auth_token_secondary_create(account=account, actor=tenant.actor)}
    elif action in ("promote", "secondary_delete") and has_secondary and not is_confirmed:
        confirm = action  # either one cuts off whoever still uses the token it ends: ask first
        action = ""
    elif action == "promote" and has_secondary:
        auth_token_promote(account=account, actor=tenant.actor)
    elif action == "secondary_delete" and has_secondary:
        auth_token_secondary_delete(account=account, actor=tenant.actor)
    return render_page(
        request,
        "tenants/auth_token.html",
        "tenants/partials/auth_token.html",
        {"shown": shown, "account": account, "done": action, "confirm": confirm},
    )


@portal_view(roles=ROLES_MANAGING_ACCOUNT)
def team_view(request: HttpRequest) -> HttpResponse:
    """The account's members and pending invitations; a POST invites someone with a role the
    inviter's own role may grant."""
    tenant = request.tenant  # type: ignore[attr-defined]
    roles = roles_grantable_by(tenant.membership.role)
    form = InviteForm(request.POST or None, roles=roles)
    invited = None
    if request.method == "POST" and form.is_valid():
        try:
            invited = invitation_create(
                account=tenant.account,
                inviter=tenant.user,
                inviter_role=tenant.membership.role,
                email=form.cleaned_data["email"],
                role=Role(form.cleaned_data["role"]),
                actor=tenant.actor,
            )
        except InvitationRefused as refused:
            form.add_error("email", str(refused))
        else:
            form = InviteForm(roles=roles)
    members = Membership.objects.for_account(tenant.account).select_related("user").order_by("date_created")
    pending = (
        Invitation.objects.for_account(tenant.account)
        .filter(accepted_at__isnull=True)
        .order_by("-date_created")
    )
    return render_page(
        request,
        "tenants/team.html",
        "tenants/partials/team.html",
        {"form": form, "members": members, "pending": pending, "invited": invited, "now": timezone.now()},
    )


@require_POST
@portal_view(roles=ROLES_MANAGING_ACCOUNT)
def invitation_revoke_view(request: HttpRequest, sid: str) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    invitation_id = sid_to_uuid(sid, Invitation.SID_PREFIX)
    found = Invitation.objects.for_account(tenant.account).filter(id=invitation_id, accepted_at__isnull=True)
    invitation = found.first() if invitation_id else None
    if invitation is not None:
        invitation_revoke(invitation=invitation, actor=tenant.actor)
    return redirect("team")


def invitation_accept_view(request: HttpRequest, account_sid: str, token: str) -> HttpResponse:
    """The invitation link. Someone new chooses a password; someone who already signs in must be
    signed in (and two-factor verified, if they use it) as the invited address, then joins."""
    user = request.user if request.user.is_authenticated else None
    invitation = invitation_get(account_sid=account_sid, token=token, user_id=user.pk if user else None)
    if invitation is None:
        return render(request, "tenants/invitation.html", {"invitation": None}, status=404)
    has_sign_in = User.objects.filter(email=invitation.email).exists()
    is_invitee = has_sign_in and user is not None and user.email == invitation.email
    if is_invitee and user_has_device(user) and not user.is_verified():  # type: ignore[union-attr]
        return redirect(f"/login/verify/?next={request.path}")
    form = None if has_sign_in else NewMemberForm(request.POST or None)
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            joined = invitation_accept(
                invitation=invitation,
                user=user if has_sign_in else None,  # type: ignore[arg-type]
                password=form.cleaned_data["password1"] if form is not None else None,
            )
        except InvitationRefused as refused:
            return render(
                request,
                "tenants/invitation.html",
                {"invitation": invitation, "refused": str(refused)},
                status=403,
            )
        if user is not None and user == joined:
            request.session["account_id"] = str(invitation.account_id)
            return redirect("/")
        return redirect("/login/")
    return render(
        request,
        "tenants/invitation.html",
        {"invitation": invitation, "form": form, "has_sign_in": has_sign_in, "signed_in_as": user},
    )
