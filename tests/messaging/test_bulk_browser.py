"""A bulk alert from the portal in Debian's Chromium, on the real processes (uvicorn, a Celery worker,
the carrier gateway, the SMSC sandbox): confirmed on a page saying what it sends, then the progress
bar climbs to 100 % over the websocket, without a reload, and the recipients' table then shows each
final status."""

import pytest
from django.db import transaction
from playwright.sync_api import Page, expect

from config.celery import app as celery_app
from core.tenancy import tenant_activate
from messaging.models import Bulk
from tenants.models import Role
from tenants.services import membership_add, user_create
from tests.browser import sign_in_form
from tests.live import celery_worker
from tests.messaging.conftest import Live, gateway_process, smpp_connector
from tests.messaging.smsc import Smsc

pytestmark = pytest.mark.e2e

EMAIL, PASSWORD = "principal@bulk-browser.example", "correct horse battery"
FAMILIES = [f"+1415555{i:04d}" for i in range(7000, 7030)]


def test_a_bulk_sent_from_the_portal_shows_its_progress_live(page: Page, live: Live, smsc: Smsc) -> None:
    celery_app.control.purge()
    with transaction.atomic():
        tenant_activate(live.tenant.account.id)
        user = user_create(email=EMAIL, password=PASSWORD)
        membership_add(account=live.tenant.account, user=user, role=Role.SUPERVISOR, actor="test")
    smpp_connector(smsc, max_per_second=10)  # three seconds for thirty families: progress to watch

    with gateway_process(), celery_worker():
        page.goto("/login/")
        sign_in_form(page, EMAIL, PASSWORD)
        page.click("nav >> text=Bulk alerts")
        expect(page.locator("h1")).to_have_text("Bulk alerts")
        page.select_option("#id_from_number", live.number)
        page.select_option("#id_message_class", "emergency")
        page.fill("#id_threat_basis", "Gas leak reported near the gym; evacuating (fire department, 10:05)")
        page.fill(
            "#id_body", "Lincoln High: everyone is safe and outside. Pick-up at the stadium from 11:00."
        )
        page.fill("#id_recipients", "\n".join([*FAMILIES, FAMILIES[0], "not a phone"]))
        page.click("#bulk-form button[type=submit]")
        # Nothing goes out before the confirmation that says what will.
        expect(page.locator("h1")).to_have_text("Send this alert to 30 recipients?")
        expect(page.locator("#confirmation")).to_contain_text(
            "Of the 32 numbers given, 1 duplicate, 1 not valid and 0 opted out are not sent."
        )
        expect(page.locator("#confirmation")).to_contain_text("1 segment per text (GSM-7), 30 in all.")
        expect(page.locator("#confirmation")).to_contain_text("Class: emergency.")
        page.click("#confirmation button[type=submit]")

        expect(page.locator("h1")).to_contain_text("Bulk alert BK")
        card = page.locator("#bulk-progress-card")
        expect(card).to_have_attribute("data-live", "open")
        page.evaluate(
            """() => {
                window.stayed = true;  // gone if the page reloads
                window.shown = [];
                const percent = document.getElementById("bulk-percent");
                new MutationObserver(() => window.shown.push(percent.textContent))
                    .observe(percent, {childList: true, characterData: true, subtree: true});
            }"""
        )
        expect(page.locator("#bulk-percent")).to_have_text("100 %", timeout=60_000)
        expect(page.locator("#bulk-progress")).to_have_js_property("value", 100)
        expect(page.locator("#bulk-status")).to_have_text("completed")
        expect(card.locator('[data-count="num_delivered"]')).to_have_text("30", timeout=30_000)
        shown = page.evaluate("window.shown")
        assert page.evaluate("window.stayed") is True
        assert any(p not in ("0 %", "100 %") for p in shown), shown  # it climbed, not jumped
        # Once complete, the recipients' table came again with the final statuses.
        expect(page.locator("#recipients tbody tr")).to_have_count(30)
        expect(page.locator("#recipients tbody")).not_to_contain_text("queued")
        expect(page.locator("#not-sent")).to_contain_text("not a phone")

    with live.db():
        bulk = Bulk.objects.get()
    assert (bulk.num_messages, bulk.num_duplicates, bulk.num_invalid, bulk.status) == (30, 1, 1, "completed")
    assert sorted("+" + s["destination_addr"] for s in smsc.accepted()) == FAMILIES
