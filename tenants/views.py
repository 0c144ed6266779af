"""Portal pages for signing in (with TOTP two-factor), switching accounts and managing API keys."""

import base64
import uuid

import segno
from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from compliance.services import audit_record
from core.sids import sid_to_uuid
from core.tenancy import tenant_activate, tenant_switch
from tenants.forms import KeyForm, LoginForm, TokenForm
from tenants.models import ROLES_MANAGING_KEYS, ApiKey, Membership, User
from tenants.portal import portal_view, render_page
from tenants.services import api_key_create, api_key_delete


def _audit_user_event(user: User, action: str) -> None:
    """Sign-in events go to the chain of every account the user belongs to."""
    tenant_activate(None, user_id=user.pk)
    for account_id in Membership.objects.filter(user=user).values_list("account_id", flat=True):
        with tenant_switch(account_id):
            audit_record(
                account_id=account_id, actor=f"user:{user.email}", action=action, object_sid=f"user:{user.pk}"
            )


def _next_url(request: HttpRequest) -> str:
    target = request.GET.get("next") or request.POST.get("next") or "/"
    return target if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) else "/"


def _check_token(device: TOTPDevice, form: TokenForm) -> bool:
    """Verify the code, explaining a refusal: wrong code, or throttled after recent failures."""
    allowed, _ = device.verify_is_allowed()
    if allowed and device.verify_token(form.cleaned_data["token"]):
        return True
    wait = "" if allowed else " Too many attempts: wait a few seconds before trying again."
    form.add_error("token", "That code is not valid. Codes change every 30 seconds." + wait)
    return False


def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].lower()
        user = authenticate(request, email=email, password=form.cleaned_data["password"])
        if user is not None:
            login(request, user)
            _audit_user_event(user, "user.login.password")
            if user_has_device(user):
                return redirect(f"/login/verify/?next={_next_url(request)}")
            return redirect(_next_url(request))
        form.add_error(None, "Email or password is not right.")
    return render(request, "tenants/login.html", {"form": form, "next": _next_url(request)})


def two_factor_verify_view(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("/login/")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = TOTPDevice.objects.filter(user=request.user, confirmed=True).first()
        if device is not None and _check_token(device, form):
            otp_login(request, device)
            _audit_user_event(request.user, "user.login.two_factor")
            return redirect(_next_url(request))
        _audit_user_event(request.user, "user.login.two_factor_failed")
    return render(request, "tenants/two_factor_verify.html", {"form": form, "next": _next_url(request)})


def two_factor_setup_view(request: HttpRequest) -> HttpResponse:
    """Enrol a TOTP authenticator: show the secret as a QR code, confirm it with one code."""
    if not request.user.is_authenticated:
        return redirect("/login/")
    if user_has_device(request.user):
        return redirect("two-factor-verify")
    device, _ = TOTPDevice.objects.get_or_create(
        user=request.user, confirmed=False, defaults={"name": "Authenticator app"}
    )
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and _check_token(device, form):
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        otp_login(request, device)
        _audit_user_event(request.user, "user.two_factor.enable")
        return redirect("/")
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    qr_svg = segno.make(device.config_url, error="m").svg_inline(scale=4)
    return render(
        request, "tenants/two_factor_setup.html", {"form": form, "secret": secret, "qr_svg": qr_svg}
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
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


@require_POST
@portal_view(roles=ROLES_MANAGING_KEYS)
def key_delete_view(request: HttpRequest, sid: str) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    key_id = sid_to_uuid(sid, ApiKey.SID_PREFIX)
    key = ApiKey.objects.for_account(tenant.account).filter(id=key_id).first() if key_id else None
    if key is not None:
        api_key_delete(key=key, actor=tenant.actor)
    return redirect("keys")
