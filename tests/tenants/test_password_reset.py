"""Password reset by e-mail: the link works once, nobody learns which e-mails have accounts, requests
are throttled, and every step is audited."""

import re

import pytest
from django.core import mail
from django.test import Client

from tenants.models import User
from tenants.signin import RESETS_PER_EMAIL
from tests.conftest import Tenant
from tests.tenants.test_signin import PASSWORD, _actions, _member, _sign_in

NEW_PASSWORD = "a new, long passphrase"


def _ask(email: str, address: str = "203.0.113.20") -> str:
    response = Client().post("/password/reset/", {"email": email}, REMOTE_ADDR=address)
    assert response.status_code == 302
    return str(response["Location"])


def _link() -> str:
    (message,) = mail.outbox
    match = re.search(r"http://testserver(/password/reset/[^/]+/[^/]+/)", str(message.body))
    assert match is not None
    return match.group(1)


def test_a_reset_link_sets_a_new_password_once(
    tenant_a: Tenant, django_capture_on_commit_callbacks: pytest.FixtureRequest
) -> None:
    _member(tenant_a)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        assert _ask("DEV@a.example") == "/password/reset/sent/"
    assert mail.outbox[0].to == ["dev@a.example"]
    link = _link()
    client = Client()
    form_url = client.get(link)["Location"]  # Django swaps the token for a session value first
    done = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/password/reset/done/"
    assert User.objects.get(email="dev@a.example").check_password(NEW_PASSWORD)
    assert _sign_in(Client(), "dev@a.example", NEW_PASSWORD) == "/"
    assert _sign_in(Client(), "dev@a.example", PASSWORD) != "/"
    again = Client().get(link, follow=True)
    assert b"has been used or has expired" in again.content
    actions = _actions(tenant_a)
    assert ("address:203.0.113.20", "user.password.reset_request") in actions
    assert ("address:127.0.0.1", "user.password.reset") in actions


def test_unknown_emails_get_the_same_answer_and_no_mail(
    tenant_a: Tenant, django_capture_on_commit_callbacks: pytest.FixtureRequest
) -> None:
    _member(tenant_a)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        assert _ask("nobody@a.example") == _ask("dev@a.example", address="203.0.113.21")
    assert [message.to for message in mail.outbox] == [["dev@a.example"]]


def test_reset_requests_are_throttled_per_email(
    tenant_a: Tenant, django_capture_on_commit_callbacks: pytest.FixtureRequest
) -> None:
    _member(tenant_a)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        for n in range(RESETS_PER_EMAIL.free + 3):
            _ask("dev@a.example", address=f"198.51.100.{n}")
    assert len(mail.outbox) == RESETS_PER_EMAIL.free
    requests = [action for action in _actions(tenant_a) if action[1] == "user.password.reset_request"]
    assert len(requests) == RESETS_PER_EMAIL.free


def test_a_reset_ends_the_sign_in_lockout(
    tenant_a: Tenant, django_capture_on_commit_callbacks: pytest.FixtureRequest
) -> None:
    from tenants.signin import PER_EMAIL

    _member(tenant_a)
    for _ in range(PER_EMAIL.free):
        _sign_in(Client(), "dev@a.example", "wrong")
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        _ask("dev@a.example")
    client = Client()
    form_url = client.get(_link())["Location"]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert _sign_in(Client(), "dev@a.example", NEW_PASSWORD) == "/"
