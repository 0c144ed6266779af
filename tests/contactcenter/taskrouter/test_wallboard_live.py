"""The wallboard live, on a real uvicorn server (tests/live.py): a change committed by another process
reaches the board's websocket at once through the announcement after commit (the socket's own read
comes only every ten seconds), and in Debian's Chromium both charts draw the queue's data
and redraw when it changes, at 1280 px and on a 768 px tablet without scrolling sideways."""

import re
import time

import pytest
from playwright.sync_api import Page, expect

from contactcenter.taskrouter.consumers import RoutingBoardConsumer
from contactcenter.taskrouter.engine import workspace_route
from contactcenter.taskrouter.models import Reservation
from contactcenter.taskrouter.reservations import reservation_update
from contactcenter.taskrouter.workers import worker_update
from core.tenancy import tenant_scope
from tenants.models import Role
from tests.conftest import Tenant
from tests.contactcenter.taskrouter.test_portal_live import (
    fragment,
    front_desk,
    new_task,
    office,
    session_of,
    socket,
    supervisor_in_browser,
)

pytestmark = pytest.mark.e2e

__all__ = ["office"]  # a fixture, imported for pytest

# Far under the socket's own 10 s read, with room for a loaded CI machine; the goal (1 s with 100
# agents and 500 waiting tasks) is measured by bench/console.
TOLD_WITHIN_SECONDS = 3.0


def test_a_change_committed_elsewhere_reaches_the_board_at_once(server: str, office: Tenant) -> None:
    workspace, _ = front_desk(office)
    cookie = session_of(office, Role.SUPERVISOR, "supervisor@wallboard-socket.example")
    # The socket reads on its own only at connect and refresh_seconds later: every change below is
    # made inside that span, so only the announcement can bring it.
    assert RoutingBoardConsumer.refresh_seconds >= 10

    with socket(server, f"/ws/routing/{workspace.sid}/", cookie) as ws:
        connected = time.monotonic()
        fragment(ws)
        took = []
        for waiting in (1, 2, 3):
            time.sleep(0.4)
            started = time.monotonic()
            new_task(office, workspace)  # committed by this process, not the server's
            html = fragment(ws)
            took.append(time.monotonic() - started)
            assert f'<td data-count="waiting"><strong>{waiting}</strong>' in html
        assert time.monotonic() - connected < RoutingBoardConsumer.refresh_seconds

    assert max(took) < TOLD_WITHIN_SECONDS, took


def _chart_wider_than(page: Page, chart: str, width: int) -> None:
    """Measured in the page, not through a handle, which a live redraw may swap out from under it."""
    page.wait_for_function(f"document.querySelector('{chart} svg')?.getBoundingClientRect().width > {width}")


def _no_sideways_scroll(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


def test_the_charts_draw_the_queue_and_redraw_when_it_changes_at_desk_and_tablet_widths(
    page: Page, server: str, office: Tenant
) -> None:
    workspace, alice = front_desk(office)
    new_task(office, workspace)
    new_task(office, workspace)
    queue, available = supervisor_in_browser(
        page, server, office, workspace, "supervisor@wallboard-browser.example"
    )

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"/routing/{workspace.sid}/")
    expect(page.locator("#board")).to_have_attribute("data-live", "open")
    waiting_line = page.locator(f'#chart-waiting [data-series="{queue.sid}"] path')
    level_line = page.locator(f'#chart-service-level [data-series="{queue.sid}"]')
    expect(waiting_line).to_have_attribute("d", re.compile(r"^M[\d.]+ [\d.]+( L[\d.]+ [\d.]+){59}$"))
    drawn = waiting_line.get_attribute("d") or ""
    last_y = float(drawn.split()[-1])
    assert last_y < float(drawn.split()[1]), drawn  # two wait now, none did an hour ago: the line rises
    expect(page.locator("#chart-waiting text", has_text=re.compile(r"^2$"))).to_have_count(1)  # the y top
    expect(level_line.locator("circle")).to_have_count(0)  # nothing answered or abandoned yet
    _chart_wider_than(page, "#chart-waiting", 300)
    assert _no_sideways_scroll(page)

    page.evaluate("window.stayed = true")  # gone if the page reloads
    new_task(office, workspace)  # a third waits: the line redraws
    expect(waiting_line).not_to_have_attribute("d", drawn)
    expect(page.locator(f'[data-queue="{queue.sid}"] [data-count="waiting"]')).to_have_text("3")

    with tenant_scope(office.account.id):  # Alice answers one: the service level gets its point
        worker_update(worker=alice, activity_sid=available.sid, actor="t")
        workspace_route(workspace_id=workspace.id, account_id=office.account.id)
        reservation_update(reservation=Reservation.objects.get(worker=alice), status="accepted")
    expect(level_line.locator("circle")).to_have_count(1)
    expect(page.locator(f'[data-queue="{queue.sid}"] [data-count="service-level"]')).to_contain_text("100%")
    expect(page.locator(f'[data-worker="{alice.sid}"] [data-count="tasks"]')).to_contain_text("accepted")
    assert page.evaluate("window.stayed") is True

    page.set_viewport_size({"width": 768, "height": 1024})
    expect(level_line.locator("circle")).to_have_count(1)
    _chart_wider_than(page, "#chart-service-level", 300)
    assert _no_sideways_scroll(page)
