"""The demo tenant's phone number, answered by the demo IVR (voice/demo.py) and the demo's reply app
(messaging/demo.py)."""

from django.conf import settings
from django.db import transaction

from core.tenancy import tenant_activate
from numbering.models import IncomingPhoneNumber
from numbering.services import number_create, number_update
from tenants.models import Account

DEMO_NUMBER = "+12025550100"


def demo_number_ensure(*, account: Account) -> None:
    """Give the demo account its number once, pointed at the demo's apps."""
    with transaction.atomic():
        tenant_activate(account.id)
        number = IncomingPhoneNumber.objects.filter(phone_number=DEMO_NUMBER).first()
        urls = {
            "voice_url": f"{settings.PUBLIC_BASE_URL}/demo/ivr/",
            "sms_url": f"{settings.PUBLIC_BASE_URL}/demo/sms/",
        }
        if number is None:
            number_create(
                account=account,
                actor="system:demo",
                phone_number=DEMO_NUMBER,
                friendly_name="Demo IVR",
                **urls,
            )
        elif not number.sms_url:  # made by an earlier version, before the demo answered texts
            number_update(number=number, actor="system:demo", sms_url=urls["sms_url"])
