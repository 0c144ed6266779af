"""The routing board live, on a real uvicorn server and the routing process (tests/live.py): its
websocket admits only who may see the workspace and sends the board as it changes; in Debian's
Chromium a supervisor sees a task come to wait in a queue, makes a worker available from the page,
and sees the routing process reserve the task for that worker, without reloading."""

import json
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest
from django.db import transaction
from django.test import Client
from playwright.sync_api import Page, expect
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from contactcenter.taskrouter.models import Activity, Reservation, TaskQueue, Worker, Workspace
from contactcenter.taskrouter.workers import worker_create
from contactcenter.taskrouter.workspaces import FIFO_TEMPLATE, workspace_create
from core.tenancy import tenant_activate, tenant_scope
from tenants.models import Role
from tenants.services import membership_add, user_create
from tests.conftest import Tenant, make_tenant
from tests.contactcenter.taskrouter.test_portal import task
from tests.live import taskrouter_process

pytestmark = pytest.mark.e2e

PASSWORD = "pw-123456789"


@pytest.fixture
def office(django_db_setup: None, django_db_blocker: Any) -> Iterator[Tenant]:
    """A committed tenant (the server and the routing process see it), the test's ORM unblocked."""
    with django_db_blocker.unblock():
        yield make_tenant("Routing office")


class BoardParts(NamedTuple):
    queue: TaskQueue
    available: Activity


def session_of(tenant: Tenant, role: Role, email: str) -> str:
    """A committed portal user of the tenant, signed in; their session cookie."""
    with transaction.atomic():
        tenant_activate(tenant.account.id)
        membership_add(
            account=tenant.account, user=user_create(email=email, password=PASSWORD), role=role, actor="t"
        )
    client = Client()
    assert client.post("/login/", {"email": email, "password": PASSWORD}).status_code == 302
    return client.cookies["sessionid"].value


def front_desk(tenant: Tenant) -> tuple[Workspace, Worker]:
    """A workspace with its FIFO queue and workflow, and Alice, offline."""
    with tenant_scope(tenant.account.id):
        workspace = workspace_create(
            account=tenant.account, actor="t", friendly_name="Front desk", template=FIFO_TEMPLATE
        )
        alice = worker_create(
            workspace=workspace,
            friendly_name="Alice",
            attributes='{"contact_uri": "sip:alice@pbx.example.com"}',
            activity_sid=None,
        )
    return workspace, alice


def supervisor_in_browser(
    page: Page, server: str, tenant: Tenant, workspace: Workspace, email: str
) -> BoardParts:
    """The page signed in as a new supervisor of `tenant`; the workspace's queue and Available activity."""
    cookie = session_of(tenant, Role.SUPERVISOR, email)
    host = server.removeprefix("http://").split(":")[0]
    page.context.add_cookies([{"name": "sessionid", "value": cookie, "domain": host, "path": "/"}])
    with tenant_scope(tenant.account.id):
        queue = TaskQueue.objects.get(workspace=workspace)
        return BoardParts(queue, Activity.objects.get(workspace=workspace, friendly_name="Available"))


def new_task(tenant: Tenant, workspace: Workspace) -> None:
    with tenant_scope(tenant.account.id):
        task(workspace)


def socket(server: str, path: str, cookie: str) -> ClientConnection:
    """A browser's websocket to `path` on the server, signed in with the session `cookie`."""
    return connect(
        f"{server.replace('http', 'ws')}{path}",
        origin=server,  # type: ignore[arg-type]
        additional_headers={"Cookie": f"sessionid={cookie}"},
        open_timeout=10,
    )


def fragment(ws: ClientConnection) -> str:
    """The next fragment the socket sends (tenants/live_fragments.py)."""
    return str(json.loads(ws.recv(timeout=10))["fragment"])


def test_the_socket_sends_the_board_when_it_changes_and_refuses_another_tenant(
    server: str, office: Tenant
) -> None:
    workspace, alice = front_desk(office)
    other = make_tenant("Routing annex")
    theirs, _ = front_desk(other)
    cookie = session_of(office, Role.SUPERVISOR, "supervisor@routing-socket.example")
    agent = session_of(office, Role.AGENT, "agent@routing-socket.example")

    with socket(server, f"/ws/routing/{workspace.sid}/", cookie) as ws:
        first = fragment(ws)
        new_task(office, workspace)
        second = fragment(ws)  # within a refresh; nothing is sent while nothing changes

    assert f'data-worker="{alice.sid}"' in first and "No task queues" not in first
    assert '<td data-count="waiting"><strong>0</strong>' in first
    assert '<td data-count="waiting"><strong>1</strong>' in second
    for sid, who in ((theirs.sid, cookie), (workspace.sid, agent), ("WSnot-a-sid", cookie)):
        with pytest.raises(InvalidStatus) as refused:
            socket(server, f"/ws/routing/{sid}/", who)
        assert refused.value.response.status_code == 403, sid


def test_a_supervisor_sees_a_task_wait_then_makes_a_worker_available_who_gets_it(
    page: Page, server: str, office: Tenant
) -> None:
    workspace, alice = front_desk(office)
    queue, available = supervisor_in_browser(
        page, server, office, workspace, "supervisor@routing-browser.example"
    )

    with taskrouter_process():
        page.goto("/routing/")
        page.click(f"text={workspace.friendly_name}")
        expect(page.locator("#board")).to_have_attribute("data-live", "open")
        page.evaluate("window.stayed = true")  # gone if the page reloads
        queue_row = page.locator(f'[data-queue="{queue.sid}"]')
        alice_row = page.locator(f'[data-worker="{alice.sid}"]')
        expect(queue_row.locator('[data-count="waiting"]')).to_have_text("0")

        new_task(office, workspace)
        expect(queue_row.locator('[data-count="waiting"]')).to_have_text("1")
        expect(queue_row.locator('[data-count="pending"]')).to_have_text("1")
        expect(queue_row.locator('[data-count="workers"]')).to_have_text("0 of 1")  # Alice is offline
        longest = queue_row.locator('[data-count="longest"]')
        expect(longest).to_have_text(re.compile(r"^0:\d\d$"))
        expect(longest).not_to_have_text(longest.inner_text())  # it ticks
        expect(alice_row.locator('[data-channel="default"]')).to_have_text("0/1")

        page.select_option(f"#activity-{alice.sid}", label="Available")
        expect(alice_row).to_have_class("available")
        expect(queue_row.locator('[data-count="reserved"]')).to_have_text("1")
        expect(alice_row.locator('[data-channel="default"]')).to_have_text("1/1 1 pending")
        expect(queue_row.locator('[data-count="workers"]')).to_have_text("1 of 1")
        assert page.evaluate("window.stayed") is True

    with tenant_scope(office.account.id):
        alice.refresh_from_db()
        reservation = Reservation.objects.get(worker=alice)
    assert (alice.activity_id, reservation.status) == (available.id, "pending")
