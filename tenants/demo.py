"""The demo tenant's account and owner, so a newcomer has something to sign in to, and the signature
check of the demo's webhook apps. Its number (numbering/demo.py) and carrier (messaging/demo.py) are
seeded by the apps that own them; `manage.py demo_tenant` (messaging) runs all three."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core import webhooks
from core.tenancy import tenant_activate, tenant_scope
from tenants.models import Account, Membership, Role, User
from tenants.services import account_create, membership_add, user_create

DEMO_ACCOUNT_ID = uuid.uuid5(uuid.NAMESPACE_URL, "https://switchboard.invalid/demo-account")
DEMO_EMAIL = "owner@demo.example"
DEMO_PASSWORD = "switchboard-demo"  # noqa: S105  (a published demo login, printed at start-up)


@dataclass(frozen=True)
class DemoTenant:
    account: Account
    email: str
    password: str


def demo_tenant_ensure() -> DemoTenant:
    """Create the demo account and its owner once; later calls return the same ones."""
    with transaction.atomic():
        tenant_activate(DEMO_ACCOUNT_ID)
        account = Account.objects.filter(id=DEMO_ACCOUNT_ID).first()
        if account is None:
            account = account_create(
                friendly_name="Demo Clinic", actor="system:demo", account_id=DEMO_ACCOUNT_ID
            )
        user = User.objects.filter(email=DEMO_EMAIL).first() or user_create(
            email=DEMO_EMAIL, password=DEMO_PASSWORD
        )
        if not Membership.objects.filter(account=account, user=user).exists():
            membership_add(account=account, user=user, role=Role.OWNER, actor="system:demo")
    return DemoTenant(account=account, email=DEMO_EMAIL, password=DEMO_PASSWORD)


def _is_signed(request: HttpRequest) -> bool:
    with tenant_scope(DEMO_ACCOUNT_ID):
        token = Account.objects.get(id=DEMO_ACCOUNT_ID).auth_token
    url = f"{settings.PUBLIC_BASE_URL}{request.get_full_path()}"
    params = {key: request.POST.getlist(key) for key in request.POST}
    return webhooks.is_valid_signature(url, params, token, request.headers.get("X-Twilio-Signature", ""))


def demo_view(view: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """POST only, CSRF-exempt (Twilio-style webhooks carry a signature instead), signature checked."""

    @csrf_exempt
    @require_POST
    def wrapper(request: HttpRequest) -> HttpResponse:
        if not _is_signed(request):
            return HttpResponseForbidden("invalid X-Twilio-Signature")
        return view(request)

    return wrapper
