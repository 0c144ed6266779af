"""The console with the softphone, end to end: Debian's Chromium signs in as an agent whose console
registers the softphone over WSS with the test Asterisk; a real sipp call enters
`<Enqueue workflowSid>`, the routing process offers it, the console rings, the agent accepts with a
key, the `dequeue` to `client:<worker SID>` rings the softphone with the reservation, the console
answers it by itself, audio flows both ways, the agent mutes and hangs up with keys, and wraps up:
the note is in the caller's conversation and the task completed. And the agent's browser closing
mid-call: the caller is re-queued and the agent goes offline."""

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from contactcenter.taskrouter.models import Reservation, Task, Worker
from conversations.models import Note
from tests.browser import chromium, sign_in_form
from tests.contactcenter import test_softphone_browser as softphone
from tests.contactcenter.test_voice_routing import wait_for
from tests.live import taskrouter_process
from tests.voice import sipp
from tests.voice.dtmf import script_pcap
from tests.voice.test_call_flows import Lab

desk, phone_server = softphone.desk, softphone.phone_server  # fixtures

pytestmark = pytest.mark.e2e

CALLER = "+15557654321"  # sipp's caller ID (tests/voice/sipp.py)


def _agent_browser(phone_server: str, tmp_path: Path) -> Any:
    microphone = softphone.tone_wav(tmp_path / "agent.wav", softphone.BROWSER_HZ)
    return chromium(phone_server, args=softphone.browser_args(microphone), ignore_https_errors=True)


def _accepted_call(page: Page, lab: Lab, email: str, talk_ms: int) -> sipp.SippRun:
    """Alice signs in, her console's softphone registers, a caller (talking `talk_ms`) is offered to
    her and she accepts with a key: the softphone answers; the caller's sipp run."""
    page.goto("/login/")
    sign_in_form(page, email, softphone.PASSWORD)
    page.wait_for_url(lambda url: "/login/" not in url)
    page.goto("/console/")
    expect(page.locator("#console")).to_have_attribute("data-active", "true")
    expect(page.locator("#softphone")).to_have_attribute("data-state", "ready", timeout=15000)
    caller_voice = script_pcap(("talk", talk_ms), tone_hz=softphone.CALLER_HZ)
    caller = lab.start_call(softphone.NUMBER, pcap=caller_voice, timeout_s=talk_ms // 1000 + 20)
    card = page.locator("#reservations [data-reservation]")
    expect(card.locator(".status")).to_have_text("ringing", timeout=15000)
    expect(card.locator(".channel")).to_have_text("voice")
    page.keyboard.press("a")  # accept: the call is dequeued to the softphone, which answers
    expect(page.locator("#softphone")).to_have_attribute("data-state", "in-call", timeout=15000)
    expect(card.locator(".status")).to_have_text("accepted")
    return caller


def test_an_agent_accepts_a_call_in_the_console_the_softphone_answers_and_the_wrap_up_is_noted(
    desk: tuple,  # type: ignore[type-arg]
    phone_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lab, setup, email = desk
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop runs in this thread
    browser = _agent_browser(phone_server, tmp_path)
    with browser as context, taskrouter_process():
        page = context.new_page()
        caller = _accepted_call(page, lab, email, talk_ms=40000)
        console = page.locator("#console")
        card = page.locator("#reservations [data-reservation]")
        expect(card.locator(".call-controls")).to_be_visible()
        expect(card.locator("form.wrapup")).to_be_hidden()  # not while the caller is on the line
        softphone.stats_when(page, lambda s: min(s.get("inBytes", 0), s.get("outBytes", 0)) > 2000)

        page.keyboard.press("m")
        expect(console).to_have_attribute("data-muted", "true")
        assert page.evaluate("window.Softphone.muted") is True
        page.keyboard.press("h")  # hang up: the task wraps up
        expect(card.locator(".status")).to_have_text("wrapping", timeout=10000)
        assert caller.wait().ok

        expect(card.locator("form.wrapup")).to_be_visible()
        expect(card.locator(".call-controls")).to_be_hidden()  # no call left to hold or transfer
        # The worker stays Available after the wrap-up unless the agent picks another activity.
        expect(card.locator(".after-activity option:checked")).to_have_text("Available")
        page.keyboard.press("w")
        card.locator(".disposition").select_option("Resolved")
        card.locator(".notes").fill("Refund issued")
        page.keyboard.press("Control+Enter")
        expect(card).to_have_count(0)

    with lab.db():
        task = Task.objects.get()
        (reservation,) = Reservation.objects.filter(task=task)
        assert (task.status, reservation.status) == ("completed", "completed")
    note = wait_for(lab, lambda: Note.objects.filter(text__startswith="Wrap-up").first(), "the wrap-up note")
    with lab.db():
        assert note.text == "Wrap-up by Alice: Resolved\nRefund issued"
        assert note.conversation.contact.phone_number == CALLER


def test_the_agents_browser_closing_mid_call_requeues_the_caller_and_takes_the_agent_offline(
    desk: tuple,  # type: ignore[type-arg]
    phone_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The browser goes away without a word (no BYE: its page never runs again): Asterisk ends the
    softphone's leg when its media stops (the endpoint's rtp_timeout, 5 s here: phone_server), which
    is not normal clearing,
    so the workspace's default `requeue` puts the caller back in line with a task as old as the
    first, and Alice goes offline."""
    lab, setup, email = desk
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop runs in this thread
    with taskrouter_process():
        with _agent_browser(phone_server, tmp_path) as context:
            page = context.new_page()
            caller = _accepted_call(page, lab, email, talk_ms=90000)
            softphone.stats_when(page, lambda s: s.get("inBytes", 0) > 2000)
        with lab.db():
            first = Task.objects.get()
        again = wait_for(lab, lambda: Task.objects.exclude(id=first.id).first(), "the re-queued task", 60)
        with lab.db():
            first.refresh_from_db()
            alice = Worker.objects.get(workspace=setup.workspace)
            assert first.status == "wrapping" and alice.activity_id == setup.offline.id
            assert (again.age_anchor_at, json.loads(again.attributes)["requeueReason"]) == (
                first.age_anchor_at,
                "agent-lost",
            )
        caller.stop()
