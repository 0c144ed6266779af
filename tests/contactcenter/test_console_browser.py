"""The agent console in Debian's Chromium, on a real uvicorn server, the routing process and a Celery
worker (tests/live.py): an agent goes available, an inbound text from the carrier path creates an
sms task the routing process offers to them, and the console rings with the customer's earlier text
in its screen pop; the agent accepts with a key, replies from the reply box (the reply is an
outbound message in the thread), starts a wrap-up that a reload restores from the server, opens a
second window that takes over (the first says it is inactive), wraps up from it (the note is in the
conversation and the audit chain), and closes both: after the grace period the worker is offline.
The console also fits a 768 px tablet without scrolling sideways."""

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from compliance.models import AuditEntry
from contactcenter.taskrouter.models import NumberRouting, Reservation, TaskChannel, Worker, Workflow
from contactcenter.taskrouter.task_lifecycle import task_create
from conversations.models import Note
from core.tenancy import tenant_scope
from messaging.carriers.base import InboundSms
from messaging.inbound import message_receive
from messaging.models import Message
from numbering.services import number_create
from tenants.models import Membership, Role
from tests.browser import chromium, off_the_loop
from tests.conftest import Tenant, make_tenant
from tests.contactcenter.taskrouter.factories import Setup, make_workspace
from tests.contactcenter.taskrouter.test_portal_live import session_of
from tests.contactcenter.test_voice_routing import wait_for
from tests.live import asgi_server, celery_worker, free_port, taskrouter_process
from tests.messaging.conftest import Live, new_number

pytestmark = pytest.mark.e2e

PATIENT = "+14155550193"
GRACE_SECONDS = 1


@pytest.fixture(scope="module")
def console_server(django_db_setup: None) -> Iterator[str]:
    """The server with a short grace before a closed console's worker goes offline."""
    with asgi_server(CONSOLE_OFFLINE_GRACE_SECONDS=str(GRACE_SECONDS)) as base:
        yield base


@pytest.fixture
def office(django_db_setup: None, django_db_blocker: Any) -> Iterator[tuple[Tenant, Setup, str]]:
    """A committed tenant whose number routes texts to a workspace; its agent Alice, offline."""
    with django_db_blocker.unblock():
        tenant = make_tenant("Console clinic")
        cookie = session_of(tenant, Role.AGENT, f"agent@{tenant.account.sid.lower()}.example")
        with tenant_scope(tenant.account.id):
            setup = make_workspace(tenant.account)
            queue = setup.queue("Everyone")
            workflow = setup.workflow({"filters": [], "default_filter": {"queue": queue.sid}})
            number = number_create(account=tenant.account, actor="t", phone_number=new_number())
            NumberRouting.objects.create(
                account=tenant.account,
                phone_number=number,
                workflow=workflow,
                task_channel=TaskChannel.objects.get(workspace=setup.workspace, unique_name="sms"),
            )
            alice = setup.worker("Alice", available=False)
            alice.member = Membership.objects.get(account=tenant.account, role=Role.AGENT)
            alice.save(update_fields=["member"])
        yield tenant, setup, cookie
        with tenant_scope(tenant.account.id):
            Workflow.objects.filter(workspace=setup.workspace).delete()


def sign_in(page: Page, server: str, cookie: str) -> None:
    host = server.removeprefix("http://").split(":")[0]
    page.context.add_cookies([{"name": "sessionid", "value": cookie, "domain": host, "path": "/"}])


def test_an_agent_takes_a_text_from_ring_to_wrap_up_across_a_reload_and_two_windows(
    console_server: str, office: tuple[Tenant, Setup, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    tenant, setup, cookie = office
    with tenant_scope(tenant.account.id):
        tenant_number = NumberRouting.objects.get().phone_number.phone_number
        alice = Worker.objects.get(friendly_name="Alice")
    with taskrouter_process(), celery_worker(), chromium(console_server) as context:
        page = context.new_page()
        sign_in(page, console_server, cookie)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto("/console/")
        console = page.locator("#console")
        expect(console).to_have_attribute("data-live", "open")
        page.select_option("#activity", label="Available")
        expect(console).to_have_attribute("data-available", "true")
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")

        sms = InboundSms(
            from_number=PATIENT.lstrip("+"),
            to=tenant_number,
            body="Is my prescription ready?",
            carrier_message_id="c",
        )
        assert off_the_loop(message_receive, sms=sms, connector="smsc") is not None
        card = page.locator("#reservations [data-reservation]")
        expect(card.locator(".status")).to_have_text("ringing", timeout=15000)
        expect(console).to_have_attribute("data-ringing", "true")
        expect(page.locator("#pop-body [data-history]")).to_contain_text("Is my prescription ready?")
        assert page.evaluate("window.consoleRings.length") >= 1  # pushed as it was made, before the state

        page.keyboard.press("a")  # accept
        expect(card.locator(".status")).to_have_text("accepted")
        expect(console).to_have_attribute("data-ringing", "false")
        page.keyboard.press("/")  # focus the reply box
        page.keyboard.type("Yes, ready at noon")
        page.keyboard.press("Control+Enter")
        expect(page.locator("#pop-body [data-history]")).to_contain_text("Yes, ready at noon")
        reply = wait_for(
            Live(tenant, ""), lambda: Message.objects.filter(direction="outbound-api").first(), "the reply"
        )
        assert (reply.to_number, reply.from_number, reply.body) == (
            PATIENT,
            tenant_number,
            "Yes, ready at noon",
        )

        page.keyboard.press("Escape")
        page.keyboard.press("w")  # wrap up: the disposition has focus
        expect(card.locator(".disposition")).to_be_focused()
        card.locator(".disposition").select_option("Resolved")
        card.locator(".notes").fill("Told them noon")
        card.locator(".notes").blur()
        time.sleep(1)  # the draft is saved over the socket as typed

        page.reload()  # the websocket and page are gone; the server's state comes back
        expect(console).to_have_attribute("data-live", "open")
        expect(card.locator(".status")).to_have_text("accepted")
        expect(card.locator(".notes")).to_have_value("Told them noon")
        expect(card.locator(".disposition")).to_have_value("Resolved")

        page.keyboard.press("?")
        expect(page.locator("#help")).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.locator("#help")).to_be_hidden()

        second = context.new_page()  # the same agent in a second window
        second.set_viewport_size({"width": 768, "height": 1024})
        second.goto("/console/")
        expect(second.locator("#console")).to_have_attribute("data-active", "true")
        expect(console).to_have_attribute("data-active", "false")
        expect(page.locator("#superseded")).to_be_visible()
        other_card = second.locator("#reservations [data-reservation]")
        expect(other_card.locator(".notes")).to_have_value("Told them noon")
        assert second.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")

        other_card.locator(".after-activity").select_option(label="Available")
        other_card.locator("form.wrapup button[type=submit]").click()
        expect(second.locator("#reservations [data-reservation]")).to_have_count(0)
        expect(page.locator("#reservations [data-reservation]")).to_have_count(0)  # the older window follows
        expect(page.locator("#recent-rows tr").first).to_contain_text("completed")

        note = wait_for(
            Live(tenant, ""), lambda: Note.objects.filter(text__startswith="Wrap-up").first(), "the note"
        )
        assert note.text == "Wrap-up by Alice: Resolved\nTold them noon"
        with tenant_scope(tenant.account.id):
            assert note.conversation.contact.phone_number == PATIENT
            (reservation,) = Reservation.objects.filter(worker=alice)
            assert reservation.status == "completed"
            assert AuditEntry.objects.filter(action="console.wrapup", object_sid=reservation.sid).exists()
            alice.refresh_from_db()
            assert alice.activity_id == setup.available.id

        page.close()
        second.close()  # every console closed: offline after the grace period
        wait_for(
            Live(tenant, ""),
            lambda: Worker.objects.filter(id=alice.id, activity=setup.offline).exists(),
            "offline",
        )


def test_the_console_reconnects_after_the_server_restarts_and_shows_what_changed_meanwhile(
    office: tuple[Tenant, Setup, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The websocket drops with the server; an offer made while the page cannot hear of it rings
    once the page is back, beside the task it had accepted and its wrap-up as typed."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    tenant, setup, cookie = office
    with tenant_scope(tenant.account.id):
        alice = Worker.objects.get(friendly_name="Alice")
        workflow_sid = Workflow.objects.get(workspace=setup.workspace).sid
    port = free_port()
    with taskrouter_process(), chromium(f"http://127.0.0.1:{port}") as context:
        page = context.new_page()
        console = page.locator("#console")
        with asgi_server(port) as server:
            sign_in(page, server, cookie)
            page.goto("/console/")
            expect(console).to_have_attribute("data-live", "open")
            page.select_option("#activity", label="Available")
            first = new_task(tenant, setup, workflow_sid, "sms")
            card = page.locator(f'[data-task="{first}"]')
            expect(card.locator(".status")).to_have_text("ringing", timeout=15000)
            card.locator(".accept").click()
            expect(card.locator(".status")).to_have_text("accepted")
            card.locator(".notes").fill("Asked about parking")
        expect(console).to_have_attribute("data-live", "closed")
        expect(page.locator("#connection")).to_have_text("reconnecting…")

        second = new_task(tenant, setup, workflow_sid, "default")  # offered while the page is deaf
        wait_for(
            Live(tenant, ""),
            lambda: Reservation.objects.filter(worker=alice, status="pending").exists(),
            "offer",
        )
        with asgi_server(port):
            expect(console).to_have_attribute("data-live", "open", timeout=20000)
            expect(page.locator(f'[data-task="{second}"] .status')).to_have_text("ringing")
            expect(console).to_have_attribute("data-ringing", "true")
            expect(card.locator(".status")).to_have_text("accepted")
            expect(card.locator(".notes")).to_have_value("Asked about parking")


def new_task(tenant: Tenant, setup: Setup, workflow_sid: str, channel: str) -> str:
    def create() -> str:
        with tenant_scope(tenant.account.id):
            return task_create(
                workspace=setup.workspace,
                workflow_sid=workflow_sid,
                attributes=json.dumps({"from": PATIENT}),
                priority=None,
                timeout=None,
                task_channel=channel,
            ).sid

    return off_the_loop(create)
