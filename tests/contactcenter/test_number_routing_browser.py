"""A number's routing settings in Debian's Chromium: from the numbers page, a developer sends the
number's texts into a workflow, and the next inbound text to it becomes a task."""

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from contactcenter.taskrouter.models import Task
from tenants.models import Role
from tenants.services import membership_add, user_create
from tests.browser import sign_in_form
from tests.contactcenter.taskrouter.factories import make_workspace
from tests.contactcenter.test_text_routing import CUSTOMER, receive, tasks
from tests.messaging.conftest import Live

pytestmark = pytest.mark.e2e

EMAIL, PASSWORD = "developer@routing-browser.example", "correct horse battery"


@pytest.fixture
def desk(live: Live) -> Iterator[tuple[Live, str]]:
    """The live tenant's developer, and a workflow of its workspace; its number routes nothing yet."""
    with live.db():
        user = user_create(email=EMAIL, password=PASSWORD)
        membership_add(account=live.tenant.account, user=user, role=Role.DEVELOPER, actor="test")
        setup = make_workspace(live.tenant.account)
        queue = setup.queue("Everyone")
        workflow = setup.workflow({"filters": [], "default_filter": {"queue": queue.sid}})
    yield live, workflow.friendly_name


def test_a_developer_routes_a_numbers_texts_and_the_next_text_becomes_a_task(
    page: Page, desk: tuple[Live, str]
) -> None:
    live, workflow_name = desk
    receive(live, "Before routing")
    assert tasks(live) == []

    page.goto("/login/")
    sign_in_form(page, EMAIL, PASSWORD)
    page.click("nav >> text=Phone numbers")
    page.locator("#numbers tr", has_text=live.number).locator("text=Routing…").click()
    expect(page.locator("h1")).to_contain_text(live.number)
    page.select_option("#id_workflow", label=f"Front desk: {workflow_name}")
    page.select_option("#id_task_channel", "chat")
    page.click("main button[type=submit]")
    expect(page.locator(".notice")).to_have_text("Saved.")

    receive(live, "Can I move my appointment?")
    (task,) = tasks(live)
    assert (task.task_channel.unique_name, task.status) == ("chat", Task.Status.PENDING)
    assert json.loads(task.attributes)["from"] == CUSTOMER
