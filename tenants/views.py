"""Portal pages for signing in (with TOTP two-factor and recovery codes), switching accounts and
managing API keys."""

import base64
import uuid

import segno
from django.contrib.auth import login, logout
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import user_has_device

from core.sids import sid_to_uuid
from core.tenancy import tenant_activate
from tenants.forms import KeyForm, LoginForm, SecondFactorForm, TokenForm
from tenants.models import ApiKey, Membership
from tenants.portal import Confirmation, confirmed, portal_view, render_page
from tenants.roles import ROLES_MANAGING_KEYS
from tenants.services import api_key_create, api_key_delete
from tenants.signin import (
    SigninRefused,
    recovery_codes_issue,
    recovery_codes_left,
    signin_password,
    signin_second_factor,
    totp_enrol,
    totp_pending,
)
from tenants.sockets import session_sockets_close


def _next_url(request: HttpRequest) -> str:
    target = request.GET.get("next") or request.POST.get("next") or "/"
    return target if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) else "/"


def _client_address(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def _too_many(refused: SigninRefused) -> str:
    return (
        f" Too many attempts: try again in {refused.wait_minutes} minute{'s' * (refused.wait_minutes > 1)}."
    )


def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = signin_password(
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                address=_client_address(request),
            )
        except SigninRefused as refused:
            form.add_error(
                None, "Email or password is not right." + (_too_many(refused) if refused.wait_s else "")
            )
        else:
            login(request, user)
            if user_has_device(user):
                return redirect(f"/login/verify/?next={_next_url(request)}")
            return redirect(_next_url(request))
    return render(request, "tenants/login.html", {"form": form, "next": _next_url(request)})


def two_factor_verify_view(request: HttpRequest) -> HttpResponse:
    """The second step: a code from the authenticator, or one of the recovery codes instead."""
    if not request.user.is_authenticated:
        return redirect("/login/")
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = signin_second_factor(
                user=request.user,  # type: ignore[arg-type]
                code=form.cleaned_data["token"],
                address=_client_address(request),
            )
        except SigninRefused as refused:
            wait = " Too many attempts: wait a few seconds before trying again." if refused.wait_s else ""
            form.add_error("token", "That code is not valid. Codes change every 30 seconds." + wait)
        else:
            otp_login(request, device)
            return redirect(_next_url(request))
    return render(request, "tenants/two_factor_verify.html", {"form": form, "next": _next_url(request)})


def two_factor_setup_view(request: HttpRequest) -> HttpResponse:
    """Enrol a TOTP authenticator: show the secret as a QR code, confirm it with one code, then show
    the recovery codes, once."""
    if not request.user.is_authenticated:
        return redirect("/login/")
    if user_has_device(request.user):
        return redirect("two-factor-verify")
    device = totp_pending(user=request.user)  # type: ignore[arg-type]
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = totp_enrol(user=request.user, device=device, code=form.cleaned_data["token"])  # type: ignore[arg-type]
        if codes is not None:
            otp_login(request, device)
            return render(request, "tenants/recovery_codes.html", {"codes": codes, "is_first": True})
        form.add_error("token", "That code is not valid. Codes change every 30 seconds.")
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    qr_svg = segno.make(device.config_url, error="m").svg_inline(scale=4, omitsize=True)  # scales to .qr
    return render(
        request, "tenants/two_factor_setup.html", {"form": form, "secret": secret, "qr_svg": qr_svg}
    )


@portal_view()
def recovery_codes_view(request: HttpRequest) -> HttpResponse:
    """How many recovery codes are left; a POST replaces them all with new ones, shown once."""
    if not user_has_device(request.user):
        return redirect("two-factor-setup")
    if request.method == "POST":
        codes = recovery_codes_issue(user=request.user)  # type: ignore[arg-type]
        return render(request, "tenants/recovery_codes.html", {"codes": codes, "is_first": False})
    left = recovery_codes_left(user=request.user)  # type: ignore[arg-type]
    return render(request, "tenants/recovery_codes.html", {"codes": None, "left": left})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    """Sign out, closing the session's websockets in every tab (tenants/sockets.py)."""
    session_key = request.session.session_key
    logout(request)
    if session_key:
        session_sockets_close(session_key)
    return redirect("/login/")


@portal_view()
def dashboard_view(request: HttpRequest) -> HttpResponse:
    return render(request, "tenants/dashboard.html", {})


@require_POST
@portal_view()
def switch_account_view(request: HttpRequest) -> HttpResponse:
    tenant_activate(None, user_id=request.user.pk)
    wanted = request.POST.get("account_id", "")
    try:
        account_id = uuid.UUID(wanted)
    except ValueError:
        return redirect("/")
    if Membership.objects.filter(user=request.tenant.user, account_id=account_id).exists():  # type: ignore[attr-defined]
        request.session["account_id"] = str(account_id)
    return redirect("/")


@portal_view(roles=ROLES_MANAGING_KEYS)
def keys_view(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    form = KeyForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        issued = api_key_create(
            account=tenant.account, friendly_name=form.cleaned_data["friendly_name"], actor=tenant.actor
        )
        form = KeyForm()
    keys = ApiKey.objects.for_account(tenant.account).order_by("-date_created")
    return render_page(
        request,
        "tenants/keys.html",
        "tenants/partials/keys.html",
        {"form": form, "keys": keys, "issued": issued},
    )


@portal_view(roles=ROLES_MANAGING_KEYS)
def key_revoke_view(request: HttpRequest, sid: str) -> HttpResponse:
    """Revoke an API key, once the page naming it has been confirmed."""
    tenant = request.tenant  # type: ignore[attr-defined]
    key_id = sid_to_uuid(sid, ApiKey.SID_PREFIX)
    key = ApiKey.objects.for_account(tenant.account).filter(id=key_id).first() if key_id else None
    if key is None:
        raise Http404("No such API key")
    if not confirmed(request, key.sid):
        name = f"“{key.friendly_name}” ({key.sid})" if key.friendly_name else key.sid
        return Confirmation(
            title=f"Revoke the API key {name}?",
            consequences=[
                f"Requests signed with {key.sid} are refused from now on (401, error 20003).",
                "Apps and servers using it stop working until they are given another key: a revoked key "
                "cannot be restored, and a new key has a new secret.",
            ],
            button=f"Revoke {key.sid}",
            back_url=reverse("keys"),
            token=key.sid,
        ).render(request)
    api_key_delete(key=key, actor=tenant.actor)
    return redirect("keys")
