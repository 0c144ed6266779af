"""Signing out in Debian's Chromium closes the session's websockets in the other tabs too: a bulk's
page left open in one tab stops its live progress when the user signs out in another."""

import re

import pytest
from django.db import transaction
from playwright.sync_api import BrowserContext, expect

from core.tenancy import tenant_activate
from tenants.models import Role
from tenants.services import membership_add, user_create
from tests.messaging import conftest as messaging_fixtures
from tests.messaging.conftest import Live
from tests.messaging.test_bulk_progress import make_bulk

pytestmark = pytest.mark.e2e

live = messaging_fixtures.live  # the fixture: a committed tenant with a number of its own
EMAIL, PASSWORD = "supervisor@signout-browser.example", "correct horse battery"


@pytest.mark.usefixtures("no_stray_tasks")  # the bulk's send tasks, which nobody runs here
def test_signing_out_in_one_tab_closes_the_live_progress_in_another(
    browser_context: BrowserContext, live: Live
) -> None:
    with transaction.atomic():
        tenant_activate(live.tenant.account.id)
        user = user_create(email=EMAIL, password=PASSWORD)
        membership_add(account=live.tenant.account, user=user, role=Role.SUPERVISOR, actor="test")
    bulk = make_bulk(live, 3)
    watching = browser_context.new_page()
    watching.add_init_script(  # every socket's close code, in order
        """window.closeCodes = [];
        const Native = window.WebSocket;
        window.WebSocket = function (url) {
            const socket = new Native(url);
            socket.addEventListener("close", (event) => window.closeCodes.push(event.code));
            return socket;
        };"""
    )
    watching.goto("/login/")
    watching.fill("#id_email", EMAIL)
    watching.fill("#id_password", PASSWORD)
    watching.click("main button[type=submit]")
    watching.goto(f"/bulk/{bulk.sid}/")
    card = watching.locator("#bulk-progress-card")
    expect(card).to_have_attribute("data-live", "open")

    other_tab = browser_context.new_page()
    other_tab.goto("/bulk/")
    other_tab.click("text=Sign out")
    expect(other_tab).to_have_url(re.compile(r"/login/$"))

    expect(card).to_have_attribute("data-live", "closed", timeout=5_000)
    watching.wait_for_timeout(1_500)  # a socket closed for any other reason is opened again after 0.5 s
    assert watching.evaluate("window.closeCodes") == [4401]
