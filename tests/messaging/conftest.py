"""Fixtures for messaging tests: `smsc` and `smsc_factory`, the SMPP carrier sandbox (see
tests/messaging/smsc.py), and a tenant number to send from."""

import pytest

from core.tenancy import tenant_activate
from numbering.models import IncomingPhoneNumber
from numbering.services import number_create
from tests.conftest import Tenant
from tests.messaging.smsc import smsc, smsc_factory  # noqa: F401

SENDER = "+15017122661"
RECIPIENT = "+14155550123"


@pytest.fixture
def sender(tenant_a: Tenant) -> IncomingPhoneNumber:
    """Tenant A's number, inside the test's transaction (which is scoped to tenant A)."""
    tenant_activate(tenant_a.account.id)
    return number_create(account=tenant_a.account, actor="test", phone_number=SENDER)
