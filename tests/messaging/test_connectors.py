"""Carrier connectors as an operator saves them: each save on the platform's audit chain."""

from io import StringIO

import pytest
from django.core.management import call_command

from compliance.models import PLATFORM_CHAIN_ID, AuditEntry
from core.tenancy import tenant_activate

pytestmark = pytest.mark.django_db


def test_the_connector_command_audits_each_save_on_the_platform_chain() -> None:
    call_command("carrier_connector", "audited", "--kind", "smpp", "--password", "pw", stdout=StringIO())
    call_command("carrier_connector", "audited", "--window", "5", "--default", stdout=StringIO())

    tenant_activate(PLATFORM_CHAIN_ID)
    entries = AuditEntry.objects.filter(account_id=PLATFORM_CHAIN_ID, object_sid="audited").order_by("seq")
    assert [(e.action, e.actor) for e in entries] == [
        ("connector.create", "operator:carrier_connector"),
        ("connector.update", "operator:carrier_connector"),
    ]


def test_a_default_connector_replaced_by_another_is_audited_too() -> None:
    call_command("carrier_connector", "first", "--kind", "smpp", "--default", stdout=StringIO())
    call_command("carrier_connector", "second", "--kind", "smpp", "--default", stdout=StringIO())

    tenant_activate(PLATFORM_CHAIN_ID)
    entries = AuditEntry.objects.filter(account_id=PLATFORM_CHAIN_ID).order_by("seq")
    assert [(e.action, e.object_sid) for e in entries][-2:] == [
        ("connector.create", "second"),
        ("connector.update", "first"),
    ]


def test_the_platform_chain_is_verified_by_its_name() -> None:
    call_command("carrier_connector", "verified", "--kind", "smpp", stdout=StringIO())

    out = StringIO()
    call_command("verify_audit_chain", "platform", stdout=out)
    assert out.getvalue().startswith("platform: intact, ")
