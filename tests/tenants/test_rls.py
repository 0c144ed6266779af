"""Row-level security: the database itself keeps tenants apart, whatever the application forgets."""

import re
from pathlib import Path

import psycopg
import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection, transaction

from core.models import TenantModel
from core.tenancy import tenant_activate
from monitor.notifications import notification_record
from numbering.models import IncomingPhoneNumber
from numbering.services import number_create
from tenants.models import Account, ApiKey
from tenants.services import api_key_create
from tests.conftest import Tenant, make_subaccount

ROOT = Path(__file__).resolve().parents[2]


def _tenant_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND column_name = 'account_id' ORDER BY table_name"
        )
        return [row[0] for row in cursor.fetchall()]


def _seed(tenant: Tenant, phone: str) -> None:
    tenant_activate(tenant.account.id)
    number_create(account=tenant.account, actor="test", phone_number=phone)
    api_key_create(account=tenant.account, friendly_name="k", actor="test")
    notification_record(account_id=tenant.account.id, error_code=11200, message="boom")


@pytest.fixture
def seeded(tenant_a: Tenant, tenant_b: Tenant) -> tuple[Tenant, Tenant]:
    _seed(tenant_a, "+15017122661")
    _seed(tenant_b, "+15017122662")
    return tenant_a, tenant_b


# The routing tables (number -> account; carrier id -> message; messages owed background work;
# workspaces owed a routing pass; webhooks owed an attempt; API key -> account) serve traffic before
# a tenant is known: ids only, kept by triggers or SECURITY DEFINER functions, read-only to the app.
ROUTING_TABLES = {
    "numbering_numberroute",
    "messaging_carrierroute",
    "messaging_pendingmessage",
    "monitor_pendingwebhook",
    "taskrouter_routingdue",
    "tenants_apikeyroute",
}


def test_every_tenant_model_table_has_forced_rls(db: None) -> None:
    tables = set(_tenant_tables()) | {"tenants_account"}
    model_tables = {m._meta.db_table for m in apps.get_models() if issubclass(m, TenantModel)}
    assert model_tables <= tables
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND relrowsecurity AND relforcerowsecurity",
            [list(tables)],
        )
        protected = {row[0] for row in cursor.fetchall()}
    assert tables - protected == ROUTING_TABLES


def test_app_role_is_neither_owner_nor_superuser(db: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False)
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user"
        )
        assert cursor.fetchone()[0] == 0


def test_raw_select_without_tenant_context_returns_no_rows(seeded: tuple[Tenant, Tenant]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('app.account_id', '', true), set_config('app.user_id', '', true)")
        for table in [*_tenant_tables(), "tenants_account"]:
            if table in ROUTING_TABLES:
                continue
            cursor.execute(f"SELECT count(*) FROM {table}")
            assert cursor.fetchone()[0] == 0, table


def test_forgotten_filter_still_leaks_nothing(seeded: tuple[Tenant, Tenant]) -> None:
    a, b = seeded
    tenant_activate(a.account.id)
    # No .filter(account=...) anywhere below: the database alone decides.
    assert {n.phone_number for n in IncomingPhoneNumber.objects.all()} == {"+15017122661"}
    assert {k.account_id for k in ApiKey.objects.all()} == {a.account.id}
    assert {acc.id for acc in Account.objects.all()} == {a.account.id}
    tenant_activate(b.account.id)
    assert {n.phone_number for n in IncomingPhoneNumber.objects.all()} == {"+15017122662"}


def test_cross_tenant_insert_is_refused_by_the_policy(seeded: tuple[Tenant, Tenant]) -> None:
    a, b = seeded
    tenant_activate(a.account.id)
    with pytest.raises(Exception, match="row-level security"), transaction.atomic():
        IncomingPhoneNumber.objects.create(account=b.account, phone_number="+15017122663", friendly_name="x")


def test_parent_sees_subaccount_but_never_the_reverse(tenant_a: Tenant, tenant_b: Tenant) -> None:
    sub = make_subaccount(tenant_a, "Branch")
    tenant_activate(tenant_a.account.id)
    assert set(Account.objects.values_list("id", flat=True)) == {tenant_a.account.id, sub.account.id}
    tenant_activate(sub.account.id)
    assert set(Account.objects.values_list("id", flat=True)) == {sub.account.id}


def _app_connection() -> psycopg.Connection:
    roles = settings.DATABASE_ROLES
    return psycopg.connect(roles.url_for(roles.app))


@pytest.mark.django_db(transaction=False)
def test_tenant_setting_ends_with_the_transaction_on_a_reused_connection(tenant_a: Tenant) -> None:
    """What a pooled connection sees after a request: '' (not NULL), and therefore no rows."""
    with _app_connection() as conn:
        with conn.transaction():
            conn.execute("SELECT set_config('app.account_id', %s, true)", [str(tenant_a.account.id)])
        assert conn.execute("SELECT current_setting('app.account_id', true)").fetchone() == ("",)
        assert conn.execute("SELECT count(*) FROM tenants_account").fetchone() == (0,)


def test_no_code_uses_a_session_level_tenant_setting() -> None:
    """`SET app.…` or `set_config(…, false)` would leak a tenant into the next pooled request."""
    pattern = re.compile(r"\bSET\s+(SESSION\s+)?app\.|set_config\([^)]*,\s*false\s*\)", re.IGNORECASE)
    offenders = [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*.py")
        if not {".venv", ".data", "node_modules", "tests"} & set(path.relative_to(ROOT).parts)
        and pattern.search(path.read_text())
    ]
    assert offenders == []
