"""Invitations: owners and admins invite an e-mail with a role they may grant; the one-time, expiring
link lets someone new choose a password, or someone who already signs in join; all audited."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from core.tenancy import tenant_activate
from tenants.models import Invitation, Membership, Role, User
from tests.conftest import Tenant
from tests.tenants.test_signin import PASSWORD, _actions, _enrolled_owner, _member, _sign_in

NEW_PASSWORD = "a long new passphrase"


def _invite(client: Client, email: str, role: Role, capture: pytest.FixtureRequest) -> str:
    """Invite and return the link's path from the e-mail (sent once the request commits)."""
    with capture(execute=True):  # type: ignore[operator]
        response = client.post("/account/team/", {"email": email, "role": role.value})
    assert response.status_code == 200, response.content
    match = re.search(r"http://[^/]+(/invitations/\S+/)", str(mail.outbox[-1].body))
    assert match is not None
    return match.group(1)


@pytest.fixture
def owner(tenant_a: Tenant, django_capture_on_commit_callbacks: pytest.FixtureRequest) -> Client:
    client, _, _ = _enrolled_owner(tenant_a)
    return client


def test_the_role_offered_first_is_agent_not_owner(owner: Client) -> None:
    page = owner.get("/account/team/").content.decode()
    roles = page[page.index('name="role"') :]
    roles = roles[: roles.index("</select>")]
    assert re.findall(r'<option value="(\w+)" selected>', roles) == ["agent"]


def test_someone_new_joins_with_the_role_once(
    tenant_a: Tenant, owner: Client, django_capture_on_commit_callbacks: pytest.FixtureRequest
) -> None:
    link = _invite(owner, "Agent@a.example", Role.AGENT, django_capture_on_commit_callbacks)
    assert mail.outbox[-1].to == ["agent@a.example"] and "as agent" in mail.outbox[-1].body
    page = Client().get(link)
    assert page.status_code == 200 and b"Join Clinic A" in page.content
    joined = Client().post(link, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert joined.status_code == 302 and joined["Location"] == "/login/"
    tenant_activate(tenant_a.account.id)
    assert Membership.objects.get(account=tenant_a.account, user__email="agent@a.example").role == Role.AGENT
    assert _sign_in(Client(), "agent@a.example", NEW_PASSWORD) == "/"
    assert Client().get(link).status_code == 404  # used up
    actions = [action for _, action in _actions(tenant_a)]
    assert actions[-3:] == ["membership.add", "invitation.accept", "user.login.password"]
    assert "invitation.create" in actions


def test_someone_who_signs_in_already_joins_as_themselves(
    tenant_a: Tenant,
    tenant_b: Tenant,
    owner: Client,
    django_capture_on_commit_callbacks: pytest.FixtureRequest,
) -> None:
    _member(tenant_b, "dev@b.example", Role.DEVELOPER)
    link = _invite(owner, "dev@b.example", Role.DEVELOPER, django_capture_on_commit_callbacks)
    stranger = Client()
    assert b"Sign in as dev@b.example" in stranger.get(link).content
    # Nobody can take the invitation over by setting a password for an existing address.
    taken = stranger.post(link, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert taken.status_code == 403
    assert User.objects.get(email="dev@b.example").check_password(PASSWORD)

    invitee = Client()
    _sign_in(invitee, "dev@b.example", PASSWORD)
    assert invitee.post(link).status_code == 302
    tenant_activate(tenant_a.account.id)
    assert Membership.objects.filter(account=tenant_a.account, user__email="dev@b.example").exists()


def test_an_admin_cannot_invite_an_owner(tenant_a: Tenant) -> None:
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    _member(tenant_a, "admin@a.example", Role.ADMIN)
    client = Client()
    _sign_in(client, "admin@a.example", PASSWORD)
    client.get("/account/two-factor/")
    device = TOTPDevice.objects.get(user__email="admin@a.example")
    client.post("/account/two-factor/", {"token": f"{totp(device.bin_key):06d}"})
    page = client.get("/account/team/").content.decode()
    assert 'value="admin"' in page and 'value="owner"' not in page
    refused = client.post("/account/team/", {"email": "boss@a.example", "role": "owner"})
    assert b"Select a valid choice" in refused.content
    tenant_activate(tenant_a.account.id)
    assert not Invitation.objects.exists()


def test_only_owners_and_admins_invite(tenant_a: Tenant) -> None:
    _member(tenant_a, "dev@a.example", Role.DEVELOPER)
    client = Client()
    _sign_in(client, "dev@a.example", PASSWORD)
    assert client.post("/account/team/", {"email": "x@a.example", "role": "agent"}).status_code == 403


def test_expired_and_revoked_invitations_do_not_work(
    tenant_a: Tenant, owner: Client, django_capture_on_commit_callbacks: pytest.FixtureRequest
) -> None:
    expired = _invite(owner, "late@a.example", Role.AGENT, django_capture_on_commit_callbacks)
    revoked = _invite(owner, "gone@a.example", Role.AGENT, django_capture_on_commit_callbacks)
    tenant_activate(tenant_a.account.id)
    Invitation.objects.filter(email="late@a.example").update(expires_at=timezone.now() - timedelta(seconds=1))
    gone = Invitation.objects.get(email="gone@a.example")
    assert owner.post(f"/account/team/invitations/{gone.sid}/revoke/").status_code == 302
    for link in (expired, revoked):
        assert Client().post(link, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}).status_code == 404
    assert not User.objects.filter(email__in=["late@a.example", "gone@a.example"]).exists()
    assert "invitation.revoke" in [action for _, action in _actions(tenant_a)]


def test_an_invitation_link_is_another_accounts_nothing(
    tenant_a: Tenant,
    tenant_b: Tenant,
    owner: Client,
    django_capture_on_commit_callbacks: pytest.FixtureRequest,
) -> None:
    link = _invite(owner, "agent@a.example", Role.AGENT, django_capture_on_commit_callbacks)
    forged = link.replace(tenant_a.sid, tenant_b.sid)
    assert Client().get(forged).status_code == 404
