"""An account's status in effect (a subaccount inherits a suspended or closed parent's), and closing an
account, which releases its numbers from routing in the same transaction."""

import pytest

from compliance.models import AuditEntry
from compliance.services import audit_chain_verify
from core.errors import TwilioError
from core.tenancy import tenant_activate
from numbering.models import IncomingPhoneNumber, NumberRoute
from numbering.services import number_create
from tenants.models import Account
from tenants.selectors import account_status_in_effect
from tenants.services import account_update
from tests.conftest import Tenant, TwilioClient, make_subaccount

BRANCH_LINES = ("+12025550141", "+12025550142")
CLINIC_LINE = "+12025550140"


@pytest.fixture
def branch(tenant_a: Tenant) -> Tenant:
    """Tenant A's subaccount with two numbers; tenant A has one of its own."""
    number_create(account=tenant_a.account, actor="test", phone_number=CLINIC_LINE)
    sub = make_subaccount(tenant_a, "Branch")
    tenant_activate(sub.account.id)
    for line in BRANCH_LINES:
        number_create(account=sub.account, actor="test", phone_number=line)
    return sub


def set_status(parent: Tenant, sub: Tenant, status: str) -> Account:
    """What `POST /Accounts/{sub}.json Status=…` does with the parent's credentials."""
    tenant_activate(sub.account.id)
    account = Account.objects.get(id=sub.account.id)
    return account_update(
        account=account, principal=parent.account, actor="test", friendly_name=None, status=status
    )


def operator_sets(tenant: Tenant, status: str) -> None:
    """A top-level account's status, which only the operator changes (no API may)."""
    tenant_activate(tenant.account.id)
    Account.objects.filter(id=tenant.account.id).update(status=status)


def in_effect(tenant: Tenant) -> str:
    tenant_activate(tenant.account.id)
    return account_status_in_effect(account=Account.objects.get(id=tenant.account.id))


@pytest.mark.parametrize(
    ("own", "parents", "expected"),
    [
        ("active", "active", "active"),
        ("suspended", "active", "suspended"),
        ("active", "suspended", "suspended"),
        ("active", "closed", "closed"),
        ("suspended", "closed", "closed"),
    ],
)
def test_a_subaccount_takes_its_parents_status_when_that_is_worse(
    tenant_a: Tenant, own: str, parents: str, expected: str
) -> None:
    sub = make_subaccount(tenant_a, "Branch")
    if own != "active":
        set_status(tenant_a, sub, own)
    operator_sets(tenant_a, parents)
    assert in_effect(sub) == expected


def test_a_top_level_accounts_status_costs_no_query(tenant_a: Tenant, django_assert_num_queries) -> None:
    operator_sets(tenant_a, "suspended")
    account = Account.objects.get(id=tenant_a.account.id)
    with django_assert_num_queries(0):
        assert account_status_in_effect(account=account) == "suspended"


def test_the_parents_status_is_read_without_leaving_the_subaccounts_scope(tenant_a: Tenant) -> None:
    sub = make_subaccount(tenant_a, "Branch")
    assert in_effect(sub) == "active"
    # Still scoped to the subaccount: its parent stays invisible (row-level security).
    assert not Account.objects.filter(id=tenant_a.account.id).exists()


def test_suspending_keeps_the_numbers_and_closing_releases_them_audited(
    tenant_a: Tenant, branch: Tenant
) -> None:
    set_status(tenant_a, branch, "suspended")
    routes = NumberRoute.objects.filter(account_id=branch.account.id).values_list("phone_number", flat=True)
    assert set(routes) == set(BRANCH_LINES)

    set_status(tenant_a, branch, "closed")

    assert not IncomingPhoneNumber.objects.exists()  # scoped to the branch
    routed = dict(NumberRoute.objects.values_list("phone_number", "account_id"))
    assert not set(BRANCH_LINES) & set(routed) and routed[CLINIC_LINE] == tenant_a.account.id
    actions = list(AuditEntry.objects.order_by("seq").values_list("action", flat=True))
    assert actions[-3:] == ["account.update", *["incoming_phone_number.delete"] * 2]
    assert audit_chain_verify(account_id=branch.account.id).is_intact


def test_a_closed_account_gets_no_new_number(tenant_a: Tenant, branch: Tenant) -> None:
    closed = set_status(tenant_a, branch, "closed")
    with pytest.raises(TwilioError) as refused:
        number_create(account=closed, actor="test", phone_number="+12025550149")
    assert refused.value.twilio_code == 20005
    assert not NumberRoute.objects.filter(phone_number="+12025550149").exists()


def test_closing_through_the_api_releases_the_numbers_and_keeps_them_out(
    api_a: TwilioClient, branch: Tenant
) -> None:
    closed = api_a.post(f"/2010-04-01/Accounts/{branch.sid}.json", {"Status": "closed"})
    assert closed.json()["status"] == "closed"
    assert not NumberRoute.objects.filter(account_id=branch.account.id).exists()
    bought = api_a.post(api_a.url("IncomingPhoneNumbers.json", branch.sid), {"PhoneNumber": "+12025550149"})
    assert (bought.status_code, bought.json()["code"]) == (403, 20005)
    assert not NumberRoute.objects.filter(phone_number="+12025550149").exists()
