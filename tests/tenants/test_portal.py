"""Portal access rules: two-factor for owners and admins, roles per page, accounts per membership."""

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.tenancy import tenant_activate
from numbering.models import IncomingPhoneNumber
from tenants.models import Role
from tenants.services import membership_add, user_create
from tests.conftest import Tenant


def _member(tenant: Tenant, email: str, role: Role) -> Client:
    tenant_activate(tenant.account.id)
    membership_add(
        account=tenant.account,
        user=user_create(email=email, password="pw-123456789"),
        role=role,
        actor="test",
    )
    client = Client()
    response = client.post("/login/", {"email": email, "password": "pw-123456789"})
    assert response.status_code == 302
    return client


def test_pages_need_sign_in(db: None) -> None:
    response = Client().get("/numbers/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/numbers/"


def test_wrong_password_is_refused(tenant_a: Tenant) -> None:
    _member(tenant_a, "dev@a.example", Role.DEVELOPER)
    response = Client().post("/login/", {"email": "dev@a.example", "password": "nope"})
    assert response.status_code == 200
    assert b"Email or password is not right" in response.content


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_owners_and_admins_must_enrol_two_factor_first(tenant_a: Tenant, role: Role) -> None:
    client = _member(tenant_a, f"{role}@a.example", role)
    response = client.get("/numbers/")
    assert response.status_code == 302 and response["Location"] == "/account/two-factor/"
    assert b"Set up two-factor sign-in" in client.get("/account/two-factor/").content


def test_the_two_factor_step_offers_no_links_into_the_portal_until_it_is_done(tenant_a: Tenant) -> None:
    """Each portal page sent an owner without a second factor back to it, so its header's links led
    nowhere: it offers signing out and the account switcher only."""
    client = _member(tenant_a, "owner@a.example", Role.OWNER)
    page = client.get("/account/two-factor/").content.decode()
    assert 'href="/numbers/"' not in page
    assert "Sign out" in page and 'id="account-switcher"' in page
    device = TOTPDevice.objects.get(user__email="owner@a.example")
    client.post("/account/two-factor/", {"token": f"{totp(device.bin_key):06d}"})
    assert 'href="/numbers/"' in client.get("/").content.decode()
    again = Client()
    again.post("/login/", {"email": "owner@a.example", "password": "pw-123456789"})
    assert 'href="/numbers/"' not in again.get("/login/verify/").content.decode()


def test_the_enrolment_qr_code_scales_whole_into_its_box(tenant_a: Tenant) -> None:
    """A size on the SVG and another from the stylesheet cropped the code (its right and bottom
    modules and quiet zone): it carries a viewBox and no size of its own."""
    page = _member(tenant_a, "owner@a.example", Role.OWNER).get("/account/two-factor/").content.decode()
    svg = page[page.index("<svg") : page.index(">", page.index("<svg"))]
    assert "viewBox=" in svg and "width=" not in svg and "height=" not in svg


def test_developer_manages_numbers_without_two_factor(tenant_a: Tenant) -> None:
    client = _member(tenant_a, "dev@a.example", Role.DEVELOPER)
    response = client.post("/numbers/", {"phone_number": "+15017122661", "friendly_name": "Lobby"})
    assert response.status_code == 200
    assert b"Added +15017122661" in response.content
    tenant_activate(tenant_a.account.id)
    assert IncomingPhoneNumber.objects.filter(phone_number="+15017122661").exists()


def test_htmx_requests_get_only_the_fragment(tenant_a: Tenant) -> None:
    client = _member(tenant_a, "dev@a.example", Role.DEVELOPER)
    fragment = client.get("/numbers/", HTTP_HX_REQUEST="true").content
    assert fragment.lstrip().startswith(b'<div id="numbers">')
    assert b"<html" in client.get("/numbers/").content


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR, Role.AUDITOR])
def test_other_roles_cannot_manage_numbers_or_keys(tenant_a: Tenant, role: Role) -> None:
    client = _member(tenant_a, f"{role}@a.example", role)
    assert client.get("/numbers/").status_code == 403
    assert client.post("/keys/", {"friendly_name": "x"}).status_code == 403


def test_account_switcher_only_reaches_member_accounts(tenant_a: Tenant, tenant_b: Tenant) -> None:
    client = _member(tenant_a, "dev@a.example", Role.DEVELOPER)
    client.post("/switch/", {"account_id": str(tenant_b.account.id)})
    page = client.get("/").content.decode()
    assert tenant_a.sid in page and tenant_b.sid not in page

    tenant_activate(tenant_b.account.id)
    from tenants.models import User

    membership_add(
        account=tenant_b.account,
        user=User.objects.get(email="dev@a.example"),
        role=Role.DEVELOPER,
        actor="test",
    )
    client.post("/switch/", {"account_id": str(tenant_b.account.id)})
    assert tenant_b.sid in client.get("/").content.decode()


def test_htmx_history_restore_gets_the_whole_page(tenant_a: Tenant) -> None:
    client = _member(tenant_a, "dev@a.example", Role.DEVELOPER)
    restored = client.get("/numbers/", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true").content
    assert b"<html" in restored
