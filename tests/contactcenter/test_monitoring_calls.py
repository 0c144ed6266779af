"""Listen, whisper and barge on real calls: a sipp caller playing tone A enqueues, a TaskRouter
`dequeue` puts it through to Alice (a sipp UAS playing tone B), and her supervisor, signed in to the
portal, monitors the call from the board's endpoint: their phone (a sipp UAS playing tone C) rings
and is snooped into the call. The RTP of every leg is recorded on loopback and each leg's received
audio is checked for the tones a person on it would hear."""

import json
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from django.test import Client

from compliance.models import AuditEntry
from contactcenter.taskrouter.instructions import Instruction
from contactcenter.taskrouter.models import Reservation, Task
from contactcenter.taskrouter.reservations import reservation_update
from numbering.models import IncomingPhoneNumber
from numbering.services import number_create
from tenants.models import Role
from tests.asterisk import TEST_RTP
from tests.contactcenter.taskrouter.factories import Setup, make_workspace, worker_member
from tests.contactcenter.test_voice_routing import enqueue_document, wait_for
from tests.live import AriWorker
from tests.voice import sipp
from tests.voice.audio import SAMPLE_RATE, is_silence, tone_share, ulaw_decode
from tests.voice.dtmf import script_pcap
from tests.voice.rtp_capture import PT_PCMU, RtpCapture, RtpPacket, audio_frames
from tests.voice.test_call_flows import Lab
from voice.models import CallMonitor

pytestmark = pytest.mark.e2e

NUMBER = "+12065550188"  # used only here: committed numbers are global across tests
CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ = 600, 1000, 1500
PASSWORD = "pw-123456789"
PHASE_S = 3.0
SETTLE_S = 0.6  # after a switch, what is judged starts this much later


def _talking(hz: int, seconds: int) -> bytes:
    return script_pcap(("talk", seconds * 1000), tone_hz=hz)


def _phone(lab: Lab, port: int, hz: int) -> sipp.SippRun:
    """A phone at 127.0.0.1:`port` that answers and says its tone for up to 40 s."""
    return sipp.start_uas(port, workdir=lab.workdir / f"phone-{port}", pcap=_talking(hz, 40), timeout_s=60)


@pytest.fixture
def floor(lab: Lab) -> Iterator[tuple[Lab, Setup, Client, int, int]]:
    """The clinic's number enqueues into a workspace; Alice answers at one SIP port, her supervisor
    Sam (signed in to the portal, a worker himself) at another."""
    alice_port, sam_port = sipp.free_udp_port(), sipp.free_udp_port()
    email = f"sam@{lab.tenant.account.sid.lower()}.example"
    with lab.db():
        number_create(
            account=lab.tenant.account, actor="test", phone_number=NUMBER, voice_url=lab.app.url + "/voice"
        )
        setup = make_workspace(lab.tenant.account)
        queue = setup.queue("Everyone", target_workers="name == 'Alice'")
        setup.workflow({"filters": [], "default_filter": {"queue": queue.sid}})
        setup.worker("Alice", {"name": "Alice", "contact_uri": f"sip:alice@127.0.0.1:{alice_port}"})
        sam = setup.worker("Sam", {"name": "Sam", "contact_uri": f"sip:sam@127.0.0.1:{sam_port}"})
        worker_member(sam, email=email, password=PASSWORD, role=Role.SUPERVISOR)
        lab.serve(voice=enqueue_document(setup), wait='<Response><Pause length="40"/></Response>')
    lab.serve(after="<Response/>")
    client = Client()
    with lab.blocker.unblock():
        assert client.post("/login/", {"email": email, "password": PASSWORD}).status_code == 302
    yield lab, setup, client, alice_port, sam_port
    with lab.db():
        IncomingPhoneNumber.objects.filter(phone_number=NUMBER).delete()


def _bridges(lab: Lab) -> list[str]:
    a = lab.asterisk
    return [b["id"] for b in httpx.get(f"{a.ari_url}/bridges", auth=(a.ari_username, a.ari_password)).json()]


def _put_through(lab: Lab, setup: Setup) -> str:
    """Route the caller's task to Alice and dequeue it to her; the caller's CallSid once she answers."""
    task = wait_for(lab, lambda: Task.objects.first(), "the caller's task")
    with lab.db():
        assert setup.offered() == 1
        reservation = Reservation.objects.get(task=task)
        reservation_update(reservation=reservation, instruction=Instruction(name="dequeue", from_=NUMBER))
    wait_for(lab, lambda: Task.objects.filter(id=task.id, status="assigned").first(), "Alice answering")
    return str(json.loads(task.attributes)["call_sid"])


def _post(lab: Lab, client: Client, path: str, **form: str) -> tuple[int, dict[str, str]]:
    with lab.blocker.unblock():
        response = client.post(path, form)
    return response.status_code, response.json()


def _legs(capture: RtpCapture) -> dict[int, int]:
    """Each leg's Asterisk port by the tone it sends: {hz: port}."""
    found = {}
    for port, packets in capture.from_callers().items():
        samples = [s for _, payload in audio_frames(packets) for s in ulaw_decode(payload)]
        for hz in (CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ):
            if tone_share(samples, hz) > 0.5:
                found[hz] = port
    return found


def _heard(packets: list[RtpPacket], start: float, end: float) -> list[int]:
    return [
        s
        for at, payload in audio_frames(packets)
        if start + SETTLE_S <= at < end
        for s in ulaw_decode(payload)
    ]


def _longest_silence(packets: list[RtpPacket], start: float, end: float) -> float:
    """The longest run of silence in the audio received between start and end, in seconds of audio:
    silent frames back to back, and frames missing in between (by their RTP timestamps)."""
    frames = [p for p in packets if p.payload_type == PT_PCMU and start <= p.at_s < end]
    longest = run = 0
    previous: RtpPacket | None = None
    for packet in frames:
        samples = len(packet.payload)
        missing = packet.timestamp - previous.timestamp - samples if previous else 0
        if is_silence(ulaw_decode(packet.payload)):
            run += max(0, missing) + samples
        else:
            run = max(0, missing)
        longest = max(longest, run)
        previous = packet
    return longest / SAMPLE_RATE


class BridgeWatch:
    """Polls the monitor's bridge in Asterisk as fast as ARI answers, noting how many snoops it
    holds each time: a mode switch must never leave it without one."""

    def __init__(self, lab: Lab, bridge_id: str) -> None:
        a = lab.asterisk
        self._http = httpx.Client(base_url=a.ari_url, auth=(a.ari_username, a.ari_password))
        self._path = f"/bridges/{bridge_id}"
        self.snoops: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            channels = self._http.get(self._path).json().get("channels", [])
            time.sleep(0.002)  # ~300 looks a second: a gap the wrong order leaves (20 ms or more) is seen
            self.snoops.append(sum("-snoop-" in channel for channel in channels))

    def __enter__(self) -> "BridgeWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._http.close()


def test_listen_whisper_and_barge_reach_who_they_should_and_switching_leaves_no_gap(
    floor: tuple[Lab, Setup, Client, int, int],
) -> None:
    lab, setup, client, alice_port, sam_port = floor
    low, high = TEST_RTP
    with (
        RtpCapture(low, high) as capture,
        _phone(lab, alice_port, AGENT_HZ) as alice,
        _phone(lab, sam_port, SUPERVISOR_HZ) as sam,
    ):
        caller = lab.start_call(NUMBER, pcap=_talking(CALLER_HZ, 40), hangup_after_ms=30000, timeout_s=60)
        call_sid = _put_through(lab, setup)
        status, body = _post(lab, client, "/console/monitor/", call=call_sid, mode="listen")
        assert status == 201, body
        assert body["mode"] == "listen" and body["sid"].startswith("CM")
        wait_for(lab, lambda: CallMonitor.objects.filter(status="active").first(), "Sam answering")
        marks = {"listen": time.time()}
        with BridgeWatch(lab, f"monitor-{uuid.UUID(body['sid'][2:])}") as watch:
            time.sleep(PHASE_S)
            for mode in ("whisper", "barge"):
                status, changed = _post(lab, client, f"/console/monitor/{body['sid']}/mode", mode=mode)
                assert status == 200 and changed["mode"] == mode, changed
                marks[mode] = time.time()
                time.sleep(PHASE_S)
        status, stopped = _post(lab, client, f"/console/monitor/{body['sid']}/stop")
        marks["stop"] = time.time()
        assert status == 200 and stopped["status"] == "ended"
        assert sam.wait(20).ok, "Sam's leg was hung up at the stop"
        assert caller.wait().ok
        assert alice.wait().ok
    legs = _legs(capture)
    assert set(legs) == {CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ}, legs
    received = capture.to_callers()
    to_caller, to_alice, to_sam = (received[legs[hz]] for hz in (CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ))

    def share(packets: list[RtpPacket], phase: str, end: str, hz: int) -> float:
        return tone_share(_heard(packets, marks[phase], marks[end]), hz)

    heard = {
        phase: [round(share(p, phase, end, hz), 2) for p in (to_caller, to_alice, to_sam) for hz in legs]
        for phase, end in (("listen", "whisper"), ("whisper", "barge"), ("barge", "stop"))
    }
    print(f"tones heard by the caller, Alice and Sam ({list(legs)} each): {heard}")
    # Listen: Sam hears both sides; nobody hears Sam.
    assert share(to_sam, "listen", "whisper", CALLER_HZ) > 0.15
    assert share(to_sam, "listen", "whisper", AGENT_HZ) > 0.15
    assert share(to_alice, "listen", "whisper", SUPERVISOR_HZ) < 0.02
    assert share(to_caller, "listen", "whisper", SUPERVISOR_HZ) < 0.02
    # Whisper: Alice hears Sam, the caller does not.
    assert share(to_alice, "whisper", "barge", SUPERVISOR_HZ) > 0.15
    assert share(to_caller, "whisper", "barge", SUPERVISOR_HZ) < 0.02
    # Barge: both do.
    assert share(to_alice, "barge", "stop", SUPERVISOR_HZ) > 0.15
    assert share(to_caller, "barge", "stop", SUPERVISOR_HZ) > 0.15
    # Switching modes: the new snoop joins Sam's bridge before the old one leaves, so the bridge
    # always holds one (seen in each of hundreds of looks) and Sam hears no more than 200 ms of
    # silence around a switch. (A loaded 2-core machine, the suite's other worker busy, drops a few
    # frames of a snoop's audio now and then, with or without switches: 120 ms seen; a switch that
    # tore the old snoop down before the new one joined would leave Sam with none in the looks.)
    print(f"{len(watch.snoops)} looks at the bridge; snoops in it: {sorted(set(watch.snoops))}")
    assert len(watch.snoops) > 100 and min(watch.snoops) >= 1
    gap = max(_longest_silence(to_sam, marks[mode] - 0.3, marks[mode] + 0.5) for mode in ("whisper", "barge"))
    print(f"longest silence Sam heard at a mode switch: {gap * 1000:.0f} ms")
    assert gap <= 0.2
    with lab.db():
        actions = list(
            AuditEntry.objects.filter(action__startswith="call.monitor.")
            .order_by("id")
            .values_list("action", flat=True)
        )
        monitor = CallMonitor.objects.get()
    assert actions == [
        "call.monitor.start",
        "call.monitor.change",
        "call.monitor.change",
        "call.monitor.stop",
    ]
    assert monitor.status == "ended" and monitor.end_reason == "Stopped by the supervisor"


def test_the_call_ending_ends_the_monitor_and_hangs_up_the_supervisor(
    floor: tuple[Lab, Setup, Client, int, int],
) -> None:
    lab, setup, client, alice_port, sam_port = floor
    with (
        _phone(lab, alice_port, AGENT_HZ),
        _phone(lab, sam_port, SUPERVISOR_HZ) as sam,
    ):
        caller = lab.start_call(NUMBER, pcap=_talking(CALLER_HZ, 30), hangup_after_ms=12000, timeout_s=30)
        call_sid = _put_through(lab, setup)
        status, body = _post(lab, client, "/console/monitor/", call=call_sid, mode="barge")
        assert status == 201, body
        wait_for(lab, lambda: CallMonitor.objects.filter(status="active").first(), "Sam answering")
        assert caller.wait().ok
        assert sam.wait(15).ok, "Sam's leg was hung up when the call ended"
    monitor = wait_for(lab, lambda: CallMonitor.objects.filter(status="ended").first(), "the monitor to end")
    assert monitor.end_reason == "The call ended"
    with lab.db():
        ended = AuditEntry.objects.get(account_id=lab.tenant.account.id, action="call.monitor.end")
    assert ended.actor == "platform" and ended.object_sid == f"CA{monitor.call_id.hex}"
    assert [c for c in lab.app_channels() if c.startswith("monitor-")] == []
    assert [b for b in _bridges(lab) if b.startswith("monitor-")] == []


def test_a_worker_crash_mid_monitor_strands_nothing(
    floor: tuple[Lab, Setup, Client, int, int], worker: AriWorker
) -> None:
    """The restarted worker's reconciliation hangs up what no process runs (the call, its leg, the
    supervisor's leg and snoop, all recognisable), destroys the bridges that held only those, and
    ends the calls, and with them the monitor."""
    lab, setup, client, alice_port, sam_port = floor
    with _phone(lab, alice_port, AGENT_HZ), _phone(lab, sam_port, SUPERVISOR_HZ) as sam:
        caller = lab.start_call(NUMBER, pcap=_talking(CALLER_HZ, 40), timeout_s=40)
        call_sid = _put_through(lab, setup)
        status, body = _post(lab, client, "/console/monitor/", call=call_sid, mode="listen")
        assert status == 201, body
        wait_for(lab, lambda: CallMonitor.objects.filter(status="active").first(), "Sam answering")

        worker.crash()
        worker.start()

        assert sam.wait(20).ok, "Sam's leg was hung up"
        assert caller.wait(20).ok
    monitor = wait_for(lab, lambda: CallMonitor.objects.filter(status="ended").first(), "the monitor to end")
    assert monitor.end_reason == "The call ended"
    assert lab.app_channels() == []
    assert _bridges(lab) == []  # the call's and the monitor's, which the crashed process had made
