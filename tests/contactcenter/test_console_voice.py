"""A real call rings the agent console: a sipp call through Asterisk into the ARI worker, whose
`<Enqueue workflowSid>` makes the caller's task (with an AI agent's hand-off in its attributes), is
offered by the routing process to Alice, signed in to the console in Debian's Chromium. Her console
rings with the screen pop: the hand-off's summary first, then the caller's earlier text. She rejects
it with a key, to the activity she chose, goes available again with another, and is not offered
that call again while it waits."""

import json
import time

import pytest
from playwright.sync_api import Page, expect

from compliance.models import AuditEntry
from contactcenter.taskrouter.models import Reservation, Task, Worker, Workflow
from messaging.carriers.base import InboundSms
from messaging.inbound import message_receive
from tenants.models import Membership, Role
from tests.contactcenter.taskrouter.factories import Setup
from tests.contactcenter.taskrouter.test_portal_live import session_of
from tests.contactcenter.test_console_browser import sign_in
from tests.contactcenter.test_voice_routing import NUMBER, desk, wait_for  # noqa: F401  (a fixture)
from tests.live import taskrouter_process
from tests.voice.test_call_flows import Lab

pytestmark = pytest.mark.e2e

CALLER = "+15557654321"  # sipp's caller ID (tests/voice/sipp.py)
HANDOFF = {
    "summary": "Wants a refund for a double charge",
    "transcript": ["bot: How can I help?", "caller: Refund"],
}


def test_a_call_rings_the_console_with_its_handoff_and_history_and_a_rejecter_is_not_offered_it_again(
    desk: tuple[Lab, Setup],  # noqa: F811
    server: str,
    page: Page,
) -> None:
    lab, setup = desk
    cookie = session_of(lab.tenant, Role.AGENT, f"agent@{lab.tenant.account.sid.lower()}.example")
    with lab.db():
        alice = Worker.objects.get(friendly_name="Alice")
        alice.member = Membership.objects.get(account=lab.tenant.account, role=Role.AGENT)
        alice.save(update_fields=["member"])
        workflow_sid = Workflow.objects.get(workspace=setup.workspace).sid
        sms = InboundSms(from_number=CALLER, to=NUMBER, body="About my bill", carrier_message_id="c")
        assert message_receive(sms=sms, connector="smsc") is not None  # the caller's earlier text
    lab.serve(
        voice=f'<Response><Enqueue workflowSid="{workflow_sid}" waitUrl="/wait">'
        f"<Task>{json.dumps(HANDOFF)}</Task></Enqueue></Response>",
        wait='<Response><Pause length="20"/></Response>',
    )
    sign_in(page, server, cookie)
    page.goto("/console/")
    console = page.locator("#console")
    expect(console).to_have_attribute("data-live", "open")
    expect(console).to_have_attribute("data-available", "true")

    with taskrouter_process():
        caller = lab.start_call(NUMBER, hangup_after_ms=12000)
        card = page.locator("#reservations [data-reservation]")
        expect(card.locator(".status")).to_have_text("ringing", timeout=15000)
        expect(card.locator(".channel")).to_have_text("voice")
        expect(console).to_have_attribute("data-ringing", "true")
        pop = page.locator("#pop-body")
        expect(pop.locator("[data-summary]")).to_have_text(HANDOFF["summary"])
        expect(pop.locator("[data-history]")).to_contain_text("About my bill")
        assert pop.inner_text().index(HANDOFF["summary"]) < pop.inner_text().index("About my bill")

        card.locator(".reject-activity").select_option(label="Unavailable")
        page.locator("#pop h2").click()  # focus off the menu: the keys act
        page.keyboard.press("r")
        expect(card).to_have_count(0)
        expect(console).to_have_attribute("data-activity", "Unavailable")
        expect(console).to_have_attribute("data-ringing", "false")
        page.keyboard.press("v")  # available again
        expect(console).to_have_attribute("data-available", "true")
        time.sleep(2)  # routing passes run; the waiting call is not offered to Alice again
        expect(card).to_have_count(0)
        with lab.db():
            task = Task.objects.get()
            assert task.status == "pending" and task.attributes_json["summary"] == HANDOFF["summary"]
            (rejected,) = Reservation.objects.filter(task=task)
            assert (rejected.worker_id, rejected.status) == (alice.id, "rejected")
            assert AuditEntry.objects.filter(
                action="taskrouter.reservation.update", object_sid=rejected.sid
            ).exists()
        assert caller.wait().ok
    wait_for(lab, lambda: Task.objects.filter(status="canceled").exists(), "the caller's task canceled")
