"""Shared fixtures: a freshly provisioned test database, two unrelated tenants, an API client, Chromium."""

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import transaction
from django.test import Client
from playwright.sync_api import BrowserContext, Page

from config.celery import app as celery_app
from core.provisioning import migrate, provision_database
from core.tenancy import tenant_activate
from tenants.models import Account
from tests.browser import chromium
from tests.live import asgi_server

pytest_plugins = ["tests.asterisk", "tests.messaging.smsc"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_blocker: pytest.FixtureRequest) -> None:
    """Drop and recreate the test database with the real roles, so RLS binds as in production."""
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        provision_database(recreate=True)
        migrate()


@pytest.fixture(autouse=True)
def _attempts_forgotten() -> None:
    """Each test starts with no failed sign-ins or API credentials counted (core/attempts.py)."""
    from django.conf import settings

    from core.throttling import redis_client

    client = redis_client()
    keys = list(client.scan_iter(match=f"sb:attempts:{settings.DATABASE_ROLES.name}:*", count=1000))
    if keys:
        client.delete(*keys)


@dataclass
class Tenant:
    account: Account
    token: str

    @property
    def sid(self) -> str:
        return self.account.sid

    def auth(self) -> dict[str, str]:
        raw = base64.b64encode(f"{self.account.sid}:{self.token}".encode()).decode()
        return {"HTTP_AUTHORIZATION": f"Basic {raw}"}


def make_tenant(name: str) -> Tenant:
    from tenants.services import account_create

    with transaction.atomic():
        account = account_create(friendly_name=name, actor="test")
    return Tenant(account=account, token=account.auth_token)


def make_subaccount(parent: Tenant, name: str) -> Tenant:
    from tenants.services import subaccount_create

    tenant_activate(parent.account.id)
    sub = subaccount_create(parent=parent.account, friendly_name=name, actor="test")
    return Tenant(account=sub, token=sub.auth_token)


@pytest.fixture(scope="module")
def server(django_db_setup: None) -> Iterator[str]:
    """uvicorn on the test database for one module's tests (tests/live.py); its base URL."""
    with asgi_server() as base:
        yield base


@pytest.fixture
def browser_context(server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[BrowserContext]:
    """Chromium on the module's server. Playwright's sync API runs an event loop in this thread; the
    test's own ORM calls are still plain synchronous code, which Django allows once told so."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with chromium(server) as context:
        yield context


@pytest.fixture
def page(browser_context: BrowserContext) -> Page:
    return browser_context.new_page()


@pytest.fixture
def no_stray_tasks() -> Iterator[None]:
    """Drop the tasks a test queued that no worker of its runs (a bulk's sends, say)."""
    yield
    celery_app.control.purge()


@pytest.fixture
def tenant_a(db: None) -> Tenant:
    return make_tenant("Clinic A")


@pytest.fixture
def tenant_b(db: None) -> Tenant:
    return make_tenant("Hotel B")


class TwilioClient:
    """Django's test client speaking the Twilio wire format: form bodies, Basic auth, JSON back."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.client = Client()

    def url(self, resource: str, account_sid: str | None = None) -> str:
        return f"/2010-04-01/Accounts/{account_sid or self.tenant.sid}/{resource}"

    def get(self, path: str, **params: object) -> Any:
        return self.client.get(path, params, **self.tenant.auth())

    def post(self, path: str, data: dict[str, object] | None = None, **extra: object) -> Any:
        body = urlencode(data or {}, doseq=True)
        return self.client.post(
            path, body, content_type="application/x-www-form-urlencoded", **self.tenant.auth(), **extra
        )

    def delete(self, path: str) -> Any:
        return self.client.delete(path, **self.tenant.auth())


@pytest.fixture
def api_a(tenant_a: Tenant) -> Iterator[TwilioClient]:
    yield TwilioClient(tenant_a)


@pytest.fixture
def api_b(tenant_b: Tenant) -> Iterator[TwilioClient]:
    yield TwilioClient(tenant_b)
