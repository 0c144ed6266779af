"""The agents' pages in Debian's Chromium: create an agent, give it an FAQ entry, and talk to it in
the test console as a caller would, seeing its replies and the tools it calls."""

from collections.abc import Iterator

import pytest
from django.db import transaction
from playwright.sync_api import Page, expect

from tenants.models import Account, Role
from tenants.services import account_create, membership_add, user_create
from tests.browser import sign_in_form

pytestmark = pytest.mark.e2e

EMAIL, PASSWORD = "developer@agents-browser.example", "correct horse battery"


@pytest.fixture
def clinic(django_db_blocker: pytest.FixtureRequest) -> Iterator[Account]:
    with django_db_blocker.unblock(), transaction.atomic():  # type: ignore[attr-defined]
        account = account_create(friendly_name="Console Clinic", actor="test")
        user = user_create(email=EMAIL, password=PASSWORD)
        membership_add(account=account, user=user, role=Role.DEVELOPER, actor="test")
    yield account


def test_a_developer_creates_an_agent_and_talks_to_it_in_the_console(page: Page, clinic: Account) -> None:
    page.goto("/login/")
    sign_in_form(page, EMAIL, PASSWORD)
    page.click("nav >> text=AI agents")
    expect(page.locator("h1")).to_have_text("AI agents")
    page.fill("#id_friendly_name", "Night desk")
    page.fill("#id_welcome_greeting", "Night desk here. Press 0 for a person.")
    page.check("input[name=tools][value=send_text]")
    page.check("input[name=tools][value=transfer_to_human]")
    page.click("text=Create agent")
    expect(page.locator("h1")).to_have_text("Night desk")

    page.fill("#id_phrases", "address\nwhere are you")
    page.fill("#id_answer", "1 Example Street.")
    page.click("text=Add entry")
    expect(page.locator("table", has_text="1 Example Street.")).to_be_visible()

    lines = page.locator("#agent-console .console-lines > li")
    page.fill("#id_text", "Where are you?")
    page.click("#agent-console button:text-is('Say')")
    expect(lines.last).to_have_text("Agent: 1 Example Street.")
    expect(page.locator("#id_text")).to_have_value("")  # the console is swapped in place, a fresh box

    page.fill("#id_text", "Can you text me the address?")
    page.click("#agent-console button:text-is('Say')")
    expect(page.locator("#agent-console .console-tool").first).to_contain_text("send_text")
    expect(lines.last).to_contain_text("no text sent")

    # No hand-off route yet: the page says so (its greeting too), and the agent offers a message.
    expect(page.locator("#no-handoff-route")).to_contain_text("offers callers no person")
    expect(page.locator("#greeting-offers-person")).to_contain_text("Press 0 for a person")
    page.fill("#id_text", "I want to talk to a person")
    page.click("#agent-console button:text-is('Say')")
    expect(lines.last).to_contain_text("leave it for the team as a message")
    expect(lines.last).not_to_contain_text("person")

    page.fill("#id_handoff_queue", "Front desk")
    page.click("button:text-is('Save')")
    expect(page.locator("#no-handoff-route")).to_have_count(0)
    page.click("#agent-console button:text-is('Start over')")
    page.fill("#id_text", "I want to talk to a person")
    page.click("#agent-console button:text-is('Say')")
    expect(lines.last).to_contain_text("live-agent-handoff")

    for width in (1280, 768):  # the portal's two layouts: nothing wider than the window
        page.set_viewport_size({"width": width, "height": 900})
        for path in (page.url, "/agents/"):
            page.goto(path)
            fits = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
            assert page.evaluate(fits), f"{path} is wider than {width} px"
