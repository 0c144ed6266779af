"""Portal sign-in: lockouts per e-mail and per client address, audited failures, recovery codes."""

import logging
import re

import pytest
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from compliance.models import AuditEntry
from core.tenancy import tenant_activate
from tenants.models import Role, User
from tenants.services import membership_add, user_create
from tenants.signin import PER_ADDRESS, PER_EMAIL, recovery_code_digest
from tests.conftest import Tenant

EMAIL, PASSWORD = "dev@a.example", "pw-123456789"


def _member(tenant: Tenant, email: str = EMAIL, role: Role = Role.DEVELOPER) -> User:
    tenant_activate(tenant.account.id)
    user = user_create(email=email, password=PASSWORD)
    membership_add(account=tenant.account, user=user, role=role, actor="test")
    return user


def _sign_in(client: Client, email: str, password: str, address: str = "203.0.113.7") -> str:
    response = client.post("/login/", {"email": email, "password": password}, REMOTE_ADDR=address)
    if response.status_code == 302:
        return str(response["Location"])
    return " ".join(str(error) for error in response.context["form"].non_field_errors())


def _actions(tenant: Tenant) -> list[tuple[str, str]]:
    tenant_activate(tenant.account.id)
    return list(AuditEntry.objects.order_by("seq").values_list("actor", "action"))


def test_twelve_wrong_passwords_then_the_right_one_is_refused(tenant_a: Tenant) -> None:
    _member(tenant_a)
    client = Client()
    answers = [_sign_in(client, EMAIL, f"wrong-{n}") for n in range(12)]
    assert all("Email or password is not right" in answer for answer in answers)
    assert "Too many attempts" not in answers[PER_EMAIL.free - 2]
    assert "Too many attempts: try again in 1 minute." in answers[PER_EMAIL.free - 1]
    refused = _sign_in(client, EMAIL, PASSWORD)
    assert "Too many attempts" in refused
    assert "_auth_user_id" not in client.session


def test_lockouts_grow_with_each_failure_after_they_pass(tenant_a: Tenant) -> None:
    from core.attempts import attempt_key
    from core.throttling import redis_client

    _member(tenant_a)
    client = Client()
    for n in range(PER_EMAIL.free):
        _sign_in(client, EMAIL, f"wrong-{n}")
    lock = f"{attempt_key('signin-email', EMAIL)}:lock"
    assert 55_000 < redis_client().pttl(lock) <= 60_000
    redis_client().delete(lock)  # the minute has passed
    assert "try again in 2 minutes" in _sign_in(client, EMAIL, "wrong-again")
    assert 115_000 < redis_client().pttl(lock) <= 120_000


def test_failures_from_elsewhere_do_not_lock_the_owner_out(tenant_a: Tenant) -> None:
    """Knowing an e-mail is not enough to keep its owner out: a locked e-mail refuses only the
    addresses that failed for it, not one that has not."""
    _member(tenant_a)
    for n in range(PER_EMAIL.free + 2):
        _sign_in(Client(), EMAIL, f"wrong-{n}", address=f"198.51.100.{n}")
    assert "Too many attempts" in _sign_in(Client(), EMAIL, PASSWORD, address="198.51.100.1")
    assert _sign_in(Client(), EMAIL, PASSWORD, address="192.0.2.10") == "/"


def test_lockout_answer_does_not_reveal_whether_the_email_exists(tenant_a: Tenant) -> None:
    _member(tenant_a)
    known = [_sign_in(Client(), EMAIL, "wrong", address="198.51.100.1") for _ in range(PER_EMAIL.free + 1)]
    unknown = [
        _sign_in(Client(), "nobody@a.example", "wrong", address="198.51.100.2")
        for _ in range(PER_EMAIL.free + 1)
    ]
    assert known == unknown


def test_one_address_is_locked_across_emails(tenant_a: Tenant) -> None:
    _member(tenant_a)
    for n in range(PER_ADDRESS.free):
        _sign_in(Client(), f"guess-{n}@a.example", "wrong", address="192.0.2.9")
    assert "Too many attempts" in _sign_in(Client(), EMAIL, PASSWORD, address="192.0.2.9")
    assert _sign_in(Client(), EMAIL, PASSWORD, address="192.0.2.10") == "/"


def test_success_clears_the_emails_count(tenant_a: Tenant) -> None:
    _member(tenant_a)
    for _ in range(PER_EMAIL.free - 1):
        _sign_in(Client(), EMAIL, "wrong")
    assert _sign_in(Client(), EMAIL, PASSWORD) == "/"
    assert "Too many attempts" not in _sign_in(Client(), EMAIL, "wrong")


def test_every_failure_is_audited_with_the_address(tenant_a: Tenant, tenant_b: Tenant) -> None:
    _member(tenant_a)
    for _ in range(PER_EMAIL.free + 3):
        _sign_in(Client(), EMAIL, "wrong", address="203.0.113.99")
    actions = _actions(tenant_a)
    failures = [entry for entry in actions if entry[1].startswith("user.login")]
    # Checked failures up to the lockout, one entry saying the lockout began; refused tries while
    # locked are not checked, so they cannot grow the chain.
    assert failures == [("address:203.0.113.99", "user.login.failed")] * PER_EMAIL.free + [
        ("address:203.0.113.99", "user.login.locked")
    ]
    assert not [entry for entry in _actions(tenant_b) if entry[1].startswith("user.login")]


def test_unknown_email_failure_goes_to_the_server_log_only(
    tenant_a: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    before = _actions(tenant_a)
    with caplog.at_level(logging.WARNING, logger="tenants.signin"):
        _sign_in(Client(), "nobody@a.example", "wrong", address="203.0.113.5")
    assert "unknown e-mail nobody@a.example from 203.0.113.5" in caplog.text
    assert _actions(tenant_a) == before


# Recovery codes ------------------------------------------------------------------------------------


def _enrolled_owner(tenant: Tenant) -> tuple[Client, TOTPDevice, list[str]]:
    user = _member(tenant, "owner@a.example", Role.OWNER)
    client = Client()
    assert _sign_in(client, "owner@a.example", PASSWORD) == "/"
    page = client.get("/account/two-factor/")
    assert b"Set up two-factor sign-in" in page.content
    device = TOTPDevice.objects.get(user=user)
    response = client.post("/account/two-factor/", {"token": f"{totp(device.bin_key):06d}"})
    assert response.status_code == 200
    codes = response.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(re.fullmatch(r"[a-z2-7]{4}(-[a-z2-7]{4}){3}", code) for code in codes)  # 80 bits each
    assert all(code in response.content.decode() for code in codes)
    return client, device, codes


def test_a_wrong_code_at_enrolment_is_audited(tenant_a: Tenant) -> None:
    _member(tenant_a, "owner@a.example", Role.OWNER)
    client = Client()
    _sign_in(client, "owner@a.example", PASSWORD)
    client.get("/account/two-factor/")
    device = TOTPDevice.objects.get(user__email="owner@a.example")
    wrong = f"{(totp(device.bin_key) + 1) % 1_000_000:06d}"
    assert b"not valid" in client.post("/account/two-factor/", {"token": wrong}).content
    assert _actions(tenant_a)[-1] == ("user:owner@a.example", "user.two_factor.enable_failed")


def test_enrolment_shows_recovery_codes_once(tenant_a: Tenant) -> None:
    client, _, codes = _enrolled_owner(tenant_a)
    page = client.get("/account/recovery-codes/").content.decode()
    assert "10 unused recovery codes" in page
    assert not any(code in page for code in codes)
    assert ("user:owner@a.example", "user.recovery_codes.issue") in _actions(tenant_a)


def test_a_recovery_code_signs_in_once(tenant_a: Tenant) -> None:
    _, _, codes = _enrolled_owner(tenant_a)
    client = Client()
    assert _sign_in(client, "owner@a.example", PASSWORD).startswith("/login/verify/")
    response = client.post("/login/verify/", {"token": codes[0].upper()})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/numbers/").status_code == 200
    assert ("user:owner@a.example", "user.login.recovery_code") in _actions(tenant_a)

    again = Client()
    _sign_in(again, "owner@a.example", PASSWORD)
    refused = again.post("/login/verify/", {"token": codes[0]}, REMOTE_ADDR="203.0.113.8")
    assert refused.status_code == 200 and b"not valid" in refused.content
    assert again.get("/numbers/").status_code == 302
    assert ("address:203.0.113.8", "user.login.two_factor_failed") in _actions(tenant_a)


def test_new_recovery_codes_replace_the_old(tenant_a: Tenant) -> None:
    client, _, old = _enrolled_owner(tenant_a)
    response = client.post("/account/recovery-codes/")
    new = response.context["codes"]
    assert len(new) == 10 and not set(new) & set(old)
    stored = set(
        StaticToken.objects.filter(device__user__email="owner@a.example").values_list("token", flat=True)
    )
    assert stored == {recovery_code_digest(code) for code in new}
    assert not stored & {code.replace("-", "") for code in new}  # kept as digests, never in clear
