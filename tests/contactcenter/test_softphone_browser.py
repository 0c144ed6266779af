"""The softphone end to end: Debian's Chromium signs in as an agent and registers over WSS with the
test Asterisk; a real sipp call enters `<Enqueue workflowSid>`, the reservation's `dequeue` to the
agent's `client:` address rings the browser (the INVITE naming the reservation), the page answers,
and audio flows both ways over DTLS-SRTP with ICE on eth0's address: the browser's stats show RTP in
and out above silence, the caller hears the browser's tone (captured on its RTP and checked by
frequency), not while muted, and a digit pressed on the page's keypad reaches the caller."""

import math
import struct
import time
import uuid
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from contactcenter.softphone import softphone_address
from contactcenter.taskrouter.models import Reservation, Task
from numbering.models import IncomingPhoneNumber
from tenants.models import Role
from tests.asterisk import TEST_RTP
from tests.browser import chromium, sign_in_form
from tests.contactcenter.taskrouter.factories import Setup, worker_member
from tests.contactcenter.taskrouter.sdk import taskrouter
from tests.contactcenter.test_voice_routing import enqueue_document, open_desk, wait_for
from tests.live import asgi_server
from tests.voice.audio import is_silence, tone_spans, ulaw_decode
from tests.voice.dtmf import script_pcap
from tests.voice.rtp_capture import RtpCapture, audio_frames, digits_sent
from tests.voice.test_call_flows import Lab
from voice.models import MediaServer

pytestmark = pytest.mark.e2e

NUMBER = "+12065550181"  # used only here: committed numbers are global across tests
PASSWORD = "correct horse battery"
BROWSER_HZ, CALLER_HZ = 1000, 440  # the agent's fake microphone; the caller's voice
DIGIT = "5"

# What the page's peer connection reports: audio in and out, and the microphone's level.
STATS = """async () => {
  const pc = window.Softphone.peerConnection();
  if (!pc) return null;
  const found = {};
  (await pc.getStats()).forEach((r) => {
    if (r.kind !== "audio") return;
    if (r.type === "inbound-rtp") Object.assign(found, {inBytes: r.bytesReceived, inLevel: r.audioLevel});
    if (r.type === "outbound-rtp") Object.assign(found, {outBytes: r.bytesSent});
    if (r.type === "media-source") Object.assign(found, {micLevel: r.audioLevel});
  });
  return found;
}"""


@pytest.fixture(scope="module")
def phone_server(media_server: MediaServer) -> Iterator[str]:
    """uvicorn whose softphones register with the test instance."""
    # A browser gone mid-call is taken for gone after 5 s without its media, not 30: the tests wait less.
    with asgi_server(
        SWITCHBOARD_SOFTPHONE_MEDIA_SERVER=media_server.name, SWITCHBOARD_SOFTPHONE_RTP_TIMEOUT="5"
    ) as base:
        yield base


def tone_wav(path: Path, hz: int, *, rate: int = 48000, seconds: int = 2) -> Path:
    """A mono 16-bit tone Chromium plays, looping, as its fake microphone."""
    frames = b"".join(
        struct.pack("<h", round(8000 * math.sin(2 * math.pi * hz * n / rate))) for n in range(rate * seconds)
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return path


def browser_args(microphone: Path) -> list[str]:
    return [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}",
        "--autoplay-policy=no-user-gesture-required",
        "--ignore-certificate-errors",  # the development certificate of the WSS
        # Real host candidates (eth0's address), not mDNS names Asterisk cannot resolve.
        "--disable-features=WebRtcHideLocalIpsWithMdns",
    ]


def stats_when(page: Page, ready: Any, timeout_s: float = 10) -> dict[str, float]:
    deadline = time.monotonic() + timeout_s
    while True:
        stats = page.evaluate(STATS) or {}
        if ready(stats):
            return stats
        if time.monotonic() > deadline:
            pytest.fail(f"the browser's stats never showed it: {stats}")
        page.wait_for_timeout(250)


@pytest.fixture
def desk(lab: Lab) -> Iterator[tuple[Lab, Setup, str]]:
    """The clinic's number enqueues into a workflow whose one worker, Alice, is an agent member."""
    email = f"alice-{uuid.uuid4().hex[:8]}@softphone-browser.example"
    with lab.db():
        setup, alice = open_desk(lab, NUMBER)
        worker_member(alice, email=email, password=PASSWORD, role=Role.AGENT)
        lab.serve(voice=enqueue_document(setup), wait='<Response><Pause length="20"/></Response>')
    lab.serve(after="<Response/>")
    yield lab, setup, email
    with lab.db():
        IncomingPhoneNumber.objects.filter(phone_number=NUMBER).delete()


def test_an_agent_answers_a_queued_call_in_the_browser_and_audio_flows_both_ways(
    desk: tuple[Lab, Setup, str], phone_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab, setup, email = desk
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop runs in this thread
    microphone = tone_wav(tmp_path / "agent.wav", BROWSER_HZ)
    caller_voice = script_pcap(("talk", 40000), tone_hz=CALLER_HZ)
    with chromium(phone_server, args=browser_args(microphone), ignore_https_errors=True) as context:
        page = context.new_page()
        page.goto("/login/")
        sign_in_form(page, email, PASSWORD)
        page.wait_for_url(lambda url: "/login/" not in url)
        page.goto("/console/phone/")
        phone = page.locator("#softphone")
        expect(phone).to_have_attribute("data-state", "ready", timeout=15000)  # registered over WSS

        with RtpCapture(*TEST_RTP) as capture:
            caller = lab.start_call(NUMBER, pcap=caller_voice, timeout_s=60)
            task = wait_for(lab, lambda: Task.objects.first(), "the caller's task")
            with lab.db():
                assert setup.offered() == 1
                reservation = Reservation.objects.get(task=task)
                alice = reservation.worker
            assert alice is not None
            taskrouter(phone_server, lab.tenant).workspaces(setup.workspace.sid).tasks(task.sid).reservations(
                reservation.sid
            ).update(instruction="dequeue", dequeue_to=softphone_address(alice), dequeue_from=NUMBER)

            expect(phone).to_have_attribute("data-state", "ringing", timeout=10000)
            assert phone.get_attribute("data-reservation") == reservation.sid  # X-Switchboard-Reservation
            page.click("[data-softphone=answer]")
            expect(phone).to_have_attribute("data-state", "in-call", timeout=10000)
            answered_at = time.time()
            # RTP both ways, the caller's heard above silence and the microphone's sent above it.
            stats_when(
                page,
                lambda s: (
                    min(s.get("inBytes", 0), s.get("outBytes", 0)) > 2000
                    and min(s.get("inLevel", 0), s.get("micLevel", 0)) > 0.01
                ),
            )
            page.wait_for_timeout(1500)
            talked_until = time.time()

            page.click("[data-softphone=mute]")
            muted_at = time.time()
            page.wait_for_timeout(2000)
            muted_until = time.time()
            page.click("[data-softphone=mute]")
            page.wait_for_timeout(500)
            page.click(f"[data-digit='{DIGIT}']")
            page.wait_for_timeout(1000)
            with lab.db():
                assert Task.objects.get(id=task.id).status == "assigned"  # accepted as the browser answered
            page.click("[data-softphone=hangup]")
            assert caller.wait().ok
            expect(phone).to_have_attribute("data-state", "ready", timeout=5000)

    # The caller's own stream is the one carrying its tone in the clear (the browser's is SRTP).
    caller_port = next(
        port
        for port, packets in capture.from_callers().items()
        if tone_spans(audio_frames(packets), CALLER_HZ)
    )
    to_caller = capture.to_callers()[caller_port]
    heard = audio_frames(to_caller)
    talking = [(at, payload) for at, payload in heard if answered_at <= at <= talked_until]
    assert sum(span.duration_s for span in tone_spans(talking, BROWSER_HZ)) >= 1.0
    muted = [(at, payload) for at, payload in heard if muted_at + 0.5 <= at <= muted_until]
    assert len(muted) > 40 and not tone_spans(muted, BROWSER_HZ)
    assert all(is_silence(ulaw_decode(payload)) for _, payload in muted)
    assert [code for _, code in digits_sent(to_caller)] == [int(DIGIT)]
