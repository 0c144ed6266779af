"""The inbox in Debian's Chromium: sign in, open a thread with a call and texts, add a note."""

import re
from collections.abc import Iterator

import pytest
from django.db import transaction
from playwright.sync_api import Page, expect

from conversations.models import Note
from conversations.services import conversation_log_message
from core.tenancy import tenant_activate, tenant_scope
from messaging.models import Message
from numbering.services import number_create
from tenants.models import Account, Role
from tenants.services import account_create, membership_add, user_create
from tests.browser import sign_in_form
from tests.conversations.factories import inbound_call, text_in

pytestmark = pytest.mark.e2e

EMAIL, PASSWORD = "supervisor@inbox-browser.example", "correct horse battery"
CLINIC, PATIENT = "+12025550180", "+14155550180"


def _delivered_reply(account: Account, body: str) -> None:
    """An outbound text that has already been delivered: nothing is left for a carrier gateway
    (a queued one would be handed to whichever gateway a later test runs)."""
    with tenant_scope(account.id):
        message = Message.objects.create(
            account=account,
            direction=Message.Direction.OUTBOUND_API,
            from_number=CLINIC,
            to_number=PATIENT,
            body=body,
            status=Message.Status.DELIVERED,
        )
    conversation_log_message(message=message)


@pytest.fixture
def clinic(django_db_blocker: pytest.FixtureRequest) -> Iterator[Account]:
    """A supervisor's clinic where a patient texted, called, and got a reply; all committed."""
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        with transaction.atomic():
            account = account_create(friendly_name="Harbour Clinic", actor="test")
            user = user_create(email=EMAIL, password=PASSWORD)
            membership_add(account=account, user=user, role=Role.SUPERVISOR, actor="test")
            tenant_activate(account.id)
            number_create(account=account, actor="test", phone_number=CLINIC)
        text_in(PATIENT, CLINIC, "Do I need to fast before the blood test?")
        inbound_call(PATIENT, CLINIC)
        _delivered_reply(account, "Yes, from midnight. Water is fine.")
    yield account


def test_agent_reads_a_thread_and_adds_a_note(
    page: Page, clinic: Account, django_db_blocker: pytest.FixtureRequest
) -> None:
    page.goto("/login/")
    sign_in_form(page, EMAIL, PASSWORD)
    expect(page.locator("h1")).to_have_text("Harbour Clinic")

    page.click("nav >> text=Inbox")
    row = page.locator("#inbox tbody tr", has_text=PATIENT)
    expect(row).to_contain_text("You: Yes, from midnight.")
    expect(row.locator(".badge")).to_have_text("2")  # the text and the call
    row.locator("a", has_text=PATIENT).click()

    expect(page.locator("h1")).to_have_text(PATIENT)
    timeline = page.locator("#timeline > li")
    expect(timeline).to_have_count(3)
    expect(timeline.nth(0).locator(".bubble")).to_have_text("Do I need to fast before the blood test?")
    expect(timeline.nth(0)).to_have_class("item item-message in")
    expect(timeline.nth(1)).to_contain_text("Incoming call")
    call_link = timeline.nth(1).locator("a", has_text="call details")
    expect(call_link).to_have_attribute("href", re.compile(r"^/calls/CA[0-9a-f]{32}/$"))
    expect(timeline.nth(2)).to_have_class("item item-message out")
    expect(timeline.nth(2).locator(".bubble")).to_have_text("Yes, from midnight. Water is fine.")

    page.fill("#id_text", "Patient asked twice; send the fasting leaflet")
    page.click("text=Add note")
    expect(timeline).to_have_count(4)
    expect(timeline.nth(3)).to_contain_text(f"Note by {EMAIL}")
    expect(timeline.nth(3)).to_contain_text("Patient asked twice; send the fasting leaflet")
    expect(page.locator("#id_text")).to_have_value("")  # a fresh box for the next note

    page.reload()
    expect(page.locator("#timeline > li").nth(3)).to_contain_text("send the fasting leaflet")
    with django_db_blocker.unblock(), tenant_scope(clinic.id):  # type: ignore[attr-defined]
        note = Note.objects.select_related("author").get()
    assert (note.author.email, note.text) == (EMAIL, "Patient asked twice; send the fasting leaflet")
