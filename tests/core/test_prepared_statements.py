"""Statements prepared on a pooled connection (config/database.py) keep tenants apart."""

from django.db import connection

from core.tenancy import tenant_activate
from numbering.models import IncomingPhoneNumber
from numbering.services import number_create
from tests.conftest import Tenant


def test_a_prepared_statement_sees_only_the_tenant_of_the_moment(tenant_a: Tenant, tenant_b: Tenant) -> None:
    for tenant, phone in ((tenant_a, "+15017122661"), (tenant_b, "+15017122662")):
        tenant_activate(tenant.account.id)
        number_create(account=tenant.account, actor="test", phone_number=phone)
    # Well past psycopg's threshold for A, then B and A again on the same connection.
    turns = [(tenant_a, "+15017122661")] * 8 + [(tenant_b, "+15017122662")] * 3 + [(tenant_a, "+15017122661")]
    for tenant, phone in turns:
        tenant_activate(tenant.account.id)
        assert list(IncomingPhoneNumber.objects.values_list("phone_number", flat=True)) == [phone]
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("numbering_incomingphonenumber" in statement for statement in prepared)
