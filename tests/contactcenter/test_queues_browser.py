"""The Queues page live, on a real uvicorn server: its websocket sends the account's queues when a
caller joins a line and admits only who may see queues; in Debian's Chromium a caller who joins
appears without a reload, and the page makes no HTTP request while it waits (it used to poll, which
renewed the session for as long as a tab stayed open, so it never signed out)."""

import re
import time
import uuid
from collections.abc import Iterator

import pytest
from django.db import transaction
from playwright.sync_api import Page, expect
from websockets.exceptions import InvalidStatus

from contactcenter.members import queue_member_enqueue
from core.tenancy import tenant_activate, tenant_scope
from tenants.models import Account, Role
from tenants.services import account_create, membership_add, user_create
from tests.browser import sign_in_form
from tests.conftest import make_tenant
from tests.contactcenter.taskrouter.test_portal_live import fragment, session_of, socket
from voice.models import Call

pytestmark = pytest.mark.e2e

EMAIL, PASSWORD = "supervisor@queues-browser.example", "correct horse battery"
OLD_POLL_SECONDS = 3  # how often the page used to ask for its table


@pytest.fixture
def clinic(django_db_blocker: pytest.FixtureRequest) -> Iterator[Account]:
    with django_db_blocker.unblock(), transaction.atomic():  # type: ignore[attr-defined]
        account = account_create(friendly_name="Queue Clinic", actor="test")
        user = user_create(email=EMAIL, password=PASSWORD)
        membership_add(account=account, user=user, role=Role.SUPERVISOR, actor="test")
        tenant_activate(account.id)
    yield account


def caller_waits(account: Account, from_number: str, queue_name: str = "front-desk") -> Call:
    """A committed live call, joined to `queue_name`."""
    with tenant_scope(account.id):
        call = Call.objects.create(
            account=account,
            direction=Call.Direction.INBOUND,
            from_number=from_number,
            to_number="+12025550100",
            status=Call.Status.IN_PROGRESS,
            channel_id=uuid.uuid4().hex,
        )
    queue_member_enqueue(account_id=account.id, call_id=call.id, queue_name=queue_name)
    return call


def test_the_socket_sends_the_queues_when_a_caller_joins_and_refuses_agents(
    server: str, django_db_setup: None, django_db_blocker: pytest.FixtureRequest
) -> None:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        office, annex = make_tenant("Queue office"), make_tenant("Queue annex")
        supervisor = session_of(office, Role.SUPERVISOR, "supervisor@queues-socket.example")
        agent = session_of(office, Role.AGENT, "agent@queues-socket.example")
        with socket(server, "/ws/queues/", supervisor) as ws:
            first = fragment(ws)
            caller_waits(annex.account, "+14155550166", "annex-desk")
            caller_waits(office.account, "+14155550177")
            second = fragment(ws)  # within a refresh; nothing is sent while nothing changes

    assert "No queues yet" in first
    assert "front-desk" in second and "1 waiting" in second and "+14155550177" in second
    assert "annex-desk" not in second and "+14155550166" not in second
    with pytest.raises(InvalidStatus) as refused:
        socket(server, "/ws/queues/", agent)
    assert refused.value.response.status_code == 403


def test_a_waiting_caller_appears_on_the_queues_page_which_does_not_poll(
    page: Page, clinic: Account, django_db_blocker: pytest.FixtureRequest
) -> None:
    page.goto("/login/")
    sign_in_form(page, EMAIL, PASSWORD)
    page.click("nav >> text=Queues")
    expect(page.locator("h1")).to_have_text("Queues")
    expect(page.locator("#queues")).to_contain_text("No queues yet")
    expect(page.locator("#queues")).to_have_attribute("data-live", "open")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.evaluate("window.stayed = true")  # gone if the page reloads
    started = time.monotonic()

    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        call = caller_waits(clinic, "+14155550177")

    queue = page.locator("#queues .queue", has_text="front-desk")
    expect(queue).to_contain_text("1 waiting", timeout=10_000)
    expect(queue.locator("tbody tr")).to_contain_text("+14155550177")
    expect(queue.locator("tbody a")).to_have_attribute("href", f"/calls/{call.sid}/")
    waiting = queue.locator("tbody [data-since]")
    expect(waiting).to_have_text(re.compile(r"^0:\d\d$"))
    expect(waiting).not_to_have_text(waiting.inner_text())  # it ticks, in the browser
    page.wait_for_timeout(max(0.0, 2 * OLD_POLL_SECONDS - (time.monotonic() - started)) * 1000)
    assert requests == [] and page.evaluate("window.stayed") is True
