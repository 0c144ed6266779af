"""The demo tenant the platform command creates, so a newcomer has something to sign in to and call."""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from core.tenancy import tenant_activate
from numbering.models import IncomingPhoneNumber
from numbering.services import number_create
from tenants.models import Account, Membership, Role, User
from tenants.services import account_create, membership_add, user_create

DEMO_ACCOUNT_ID = uuid.uuid5(uuid.NAMESPACE_URL, "https://switchboard.invalid/demo-account")
DEMO_EMAIL = "owner@demo.example"
DEMO_NUMBER = "+12025550100"
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
        if not IncomingPhoneNumber.objects.filter(phone_number=DEMO_NUMBER).exists():
            number_create(
                account=account,
                actor="system:demo",
                phone_number=DEMO_NUMBER,
                friendly_name="Demo IVR",
                voice_url=f"{settings.PUBLIC_BASE_URL}/demo/ivr/",
            )
    return DemoTenant(account=account, email=DEMO_EMAIL, password=DEMO_PASSWORD)
