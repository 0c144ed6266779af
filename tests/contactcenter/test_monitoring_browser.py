"""One click from the routing board in Debian's Chromium: a supervisor clicks Listen on a worker who
is on a call, then Whisper, then Stop; the board's script posts to /console/monitor/ and shows what
each answer says, and the monitor is written, switched and stopped, each step audited. (What the
supervisor then hears is test_monitoring_calls.py's.)"""

from collections.abc import Iterator

import pytest
from django.db import transaction
from playwright.sync_api import Page, expect

from compliance.models import AuditEntry
from contactcenter.taskrouter.models import Workspace
from core.tenancy import tenant_scope
from tenants.models import Account, Membership, Role
from tenants.services import account_create, membership_add, user_create
from tests.browser import sign_in_form
from tests.conftest import Tenant
from tests.contactcenter.taskrouter.test_portal import front_desk, worker
from tests.contactcenter.test_monitoring_portal import PHONE, call_accepted, live_call
from voice.models import Call, CallMonitor

pytestmark = pytest.mark.e2e

EMAIL, PASSWORD = "sam@monitoring-browser.example", "correct horse battery"


@pytest.fixture
def floor(django_db_blocker: pytest.FixtureRequest) -> Iterator[tuple[Account, Workspace, Call]]:
    """Committed: Sam (supervisor, a worker whose phone is PHONE) and Alice, on a caller's call."""
    with django_db_blocker.unblock(), transaction.atomic():  # type: ignore[attr-defined]
        account = account_create(friendly_name="Monitoring Clinic", actor="test")
        membership = membership_add(
            account=account, user=user_create(email=EMAIL, password=PASSWORD), role=Role.SUPERVISOR, actor="t"
        )
        call, _ = live_call(Tenant(account=account, token=""))
        workspace = front_desk(Tenant(account=account, token=""))
        sam = worker(workspace, "Sam", contact_uri=PHONE)
        sam.member = membership
        sam.save(update_fields=["member"])
        worker(workspace, "Alice", "Available")
    with django_db_blocker.unblock(), transaction.atomic():  # type: ignore[attr-defined]
        call_accepted(workspace, call)
    yield account, workspace, call


def test_a_supervisor_listens_whispers_and_stops_from_the_board(
    page: Page, floor: tuple[Account, Workspace, Call], django_db_blocker: pytest.FixtureRequest
) -> None:
    account, workspace, call = floor
    page.goto("/login/")
    sign_in_form(page, EMAIL, PASSWORD)
    page.goto(f"/routing/{workspace.sid}/")
    buttons = page.locator(f'[data-monitor-call="{call.sid}"]')
    panel = page.locator("#monitor-panel")

    buttons.get_by_role("button", name="Listen").click()
    expect(panel).to_contain_text("listen", timeout=10_000)
    buttons.get_by_role("button", name="Whisper").click()
    expect(panel).to_contain_text("whisper")
    panel.get_by_role("button", name="Stop").click()
    expect(panel).to_contain_text("Monitoring stopped.")

    with django_db_blocker.unblock(), tenant_scope(account.id):  # type: ignore[attr-defined]
        monitor = CallMonitor.objects.select_related("call", "supervisor").get()
        actions = list(
            AuditEntry.objects.filter(account_id=account.id, action__startswith="call.monitor.")
            .order_by("seq")
            .values_list("action", flat=True)
        )
        assert monitor.supervisor == Membership.objects.get(user__email=EMAIL)
        assert (monitor.mode, monitor.status, monitor.target) == ("whisper", "ended", PHONE)
        assert monitor.call.parent_call_id == call.id  # the agent's leg of the caller's call
    assert actions == ["call.monitor.start", "call.monitor.change", "call.monitor.stop"]
