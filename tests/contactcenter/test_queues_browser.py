"""The Queues page in Debian's Chromium: a caller who joins the queue appears without a reload."""

import uuid
from collections.abc import Iterator

import pytest
from django.db import transaction
from playwright.sync_api import Page, expect, sync_playwright

from contactcenter.members import queue_member_enqueue
from core.tenancy import tenant_activate, tenant_scope
from tenants.models import Account, Role
from tenants.services import account_create, membership_add, user_create
from tests.tenants.test_portal_browser import CHROMIUM_ARGS
from voice.models import Call

pytestmark = pytest.mark.e2e

EMAIL, PASSWORD = "supervisor@queues-browser.example", "correct horse battery"


@pytest.fixture
def clinic(django_db_blocker: pytest.FixtureRequest) -> Iterator[Account]:
    with django_db_blocker.unblock(), transaction.atomic():  # type: ignore[attr-defined]
        account = account_create(friendly_name="Queue Clinic", actor="test")
        user = user_create(email=EMAIL, password=PASSWORD)
        membership_add(account=account, user=user, role=Role.SUPERVISOR, actor="test")
        tenant_activate(account.id)
    yield account


@pytest.fixture
def page(server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Page]:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=server)
        yield context.new_page()
        browser.close()


def test_a_waiting_caller_appears_on_the_queues_page(
    page: Page, clinic: Account, django_db_blocker: pytest.FixtureRequest
) -> None:
    page.goto("/login/")
    page.fill("#id_email", EMAIL)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.click("nav >> text=Queues")
    expect(page.locator("h1")).to_have_text("Queues")
    expect(page.locator("#queues")).to_contain_text("No queues yet")

    with django_db_blocker.unblock(), tenant_scope(clinic.id):  # type: ignore[attr-defined]
        call = Call.objects.create(
            account=clinic,
            direction=Call.Direction.INBOUND,
            from_number="+14155550177",
            to_number="+12025550100",
            status=Call.Status.IN_PROGRESS,
            channel_id=uuid.uuid4().hex,
        )
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        queue_member_enqueue(account_id=clinic.id, call_id=call.id, queue_name="front-desk")

    queue = page.locator("#queues .queue", has_text="front-desk")
    expect(queue).to_contain_text("1 waiting", timeout=10_000)  # the table refreshes itself
    expect(queue.locator("tbody tr")).to_contain_text("+14155550177")
    expect(queue.locator("tbody a")).to_have_attribute("href", f"/calls/{call.sid}/")
