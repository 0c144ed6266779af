"""Call control on real calls: a sipp caller with a 440 Hz tone enqueued through TaskRouter and
bridged by a `dequeue` to Alice, a sipp phone playing 1000 Hz; the agent acts through the console's
endpoints (signed in as Alice's portal member), and what each leg hears is read from the RTP on
loopback: hold music and not Alice while held; after a blind transfer Bob (1500 Hz) hears the caller;
a warm transfer's consultation keeps the caller out of Alice and Carol's talk, and completing it
bridges the caller and Carol; Alice's leg lost re-queues the caller, whose task Bob then gets."""

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.test import Client

from compliance.models import AuditEntry
from contactcenter.taskrouter.models import Reservation, Task, TaskQueue, Worker, Workspace
from core.sids import sid_to_uuid
from numbering.models import IncomingPhoneNumber
from numbering.services import number_create
from tenants.models import Role
from tests.asterisk import TEST_RTP
from tests.contactcenter.taskrouter.factories import Setup, make_workspace, worker_member
from tests.contactcenter.taskrouter.sdk import taskrouter
from tests.contactcenter.test_voice_routing import wait_for
from tests.numbering.test_twilio_sdk import sdk
from tests.voice import sipp
from tests.voice.audio import has_tone, is_silence, ulaw_decode
from tests.voice.dtmf import script_pcap
from tests.voice.rtp_capture import RtpCapture, RtpPacket, audio_frames
from tests.voice.test_call_flows import Lab
from voice.models import Call, CallEvent

pytestmark = pytest.mark.e2e

NUMBER = "+12065550179"  # used only here: committed numbers are global across tests
CALLER_HZ, ALICE_HZ, BOB_HZ = 440, 1000, 1500
HOLD_NOTES = (175, 196, 220, 247, 262, 294, 330, 349, 392, 440, 523)  # voice/media.py's HOLD_CHORDS
PASSWORD = "pw-123456789"


@dataclass
class Desk:
    lab: Lab
    setup: Setup
    server: str
    alice: Worker
    bob: Worker
    billing: TaskQueue  # Bob's
    ports: dict[str, int]
    console: Client  # Alice's portal session

    def rest(self) -> Any:
        return sdk(self.server, self.lab.tenant.sid, self.lab.tenant.token)

    def phone(self, name: str, hz: int, seconds: int = 40) -> sipp.SippRun:
        """`name`'s phone: answers one call and plays its tone. sipp also binds a video port beside
        its media pair, which another test's may hold: then it is started again on a new pair."""
        for attempt in range(3):
            try:
                return sipp.start_uas(
                    self.ports[name],
                    workdir=self.lab.workdir / f"{name}-{time.monotonic_ns()}",
                    pcap=script_pcap(("talk", seconds * 1000), tone_hz=hz),
                    timeout_s=seconds + 20,
                )
            except RuntimeError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def caller(self) -> sipp.SippRun:
        return self.lab.start_call(NUMBER, pcap=script_pcap(("talk", 60000), tone_hz=CALLER_HZ), timeout_s=80)

    def dequeue(self, task: Task, worker: Worker, *, answer_s: float = 15) -> None:
        """What the assignment callback's `dequeue` instruction does, through the official SDK."""
        with self.lab.db():
            self.setup.route()
            reservation = Reservation.objects.get(task=task, status="pending")
        assert reservation.worker_id == worker.id
        taskrouter(self.server, self.lab.tenant).workspaces(self.setup.workspace.sid).tasks(
            task.sid
        ).reservations(reservation.sid).update(instruction="dequeue", dequeue_from=NUMBER)
        wait_for(
            self.lab,
            lambda: Task.objects.filter(id=task.id, status="assigned").first(),
            "the answer",
            timeout=answer_s,
        )

    @property
    def carol_uri(self) -> str:
        """Carol is no worker: a number's or colleague's SIP address."""
        return f"sip:carol@127.0.0.1:{self.ports['carol']}"

    def consulted(self, status: str) -> float:
        """When a consultation ended its ringing with `status` (the timeline's note, seen)."""
        wait_for(
            self.lab,
            lambda: CallEvent.objects.filter(name="consulted", detail__status=status).first(),
            f"a consultation {status}",
        )
        return time.time()

    def talking_to_alice(self) -> tuple[sipp.SippRun, Task, str]:
        """A caller enqueued, its task dequeued to Alice, who answered a moment ago; its CallSid."""
        caller = self.caller()
        task = wait_for(self.lab, lambda: Task.objects.first(), "the caller's task")
        self.dequeue(task, self.alice)
        time.sleep(2)
        return caller, task, json.loads(task.attributes)["call_sid"]

    def available(self, worker: Worker) -> None:
        taskrouter(self.server, self.lab.tenant).workspaces(self.setup.workspace.sid).workers(
            worker.sid
        ).update(activity_sid=self.setup.available.sid)

    def lose(self, call_sid: str) -> None:
        """Alice's leg ends as Asterisk ends a channel whose network is gone (cause 38), the phone
        having vanished without a BYE."""
        asterisk = self.lab.asterisk
        with self.lab.db():
            leg = (
                Call.objects.filter(parent_call_id=sid_to_uuid(call_sid, "CA"))
                .order_by("date_created")
                .last()
            )
        assert leg is not None
        httpx.delete(
            f"{asterisk.ari_url}/channels/{leg.sid}",
            params={"reason_code": "38"},  # network out of order
            auth=(asterisk.ari_username, asterisk.ari_password),
        ).raise_for_status()

    def control(self, call_sid: str, action: str, **form: str) -> dict[str, Any]:
        response = self.console.post(f"/console/calls/{call_sid}/{action}", form)
        assert response.status_code == 202, response.content
        return dict(response.json())

    def ended(self, call_sid: str) -> None:
        self.rest().calls(call_sid).update(status="completed")


@pytest.fixture
def desk(lab: Lab, server: str, celery: None) -> Iterator[Desk]:
    """The clinic's number enqueues into a workflow with Flex's transfer filter; Alice (available) and
    Bob (offline) each have a SIP phone on loopback; Alice is a portal member signed in."""
    ports = {name: sipp.free_udp_port() for name in ("alice", "bob", "carol")}
    with lab.db():
        number_create(
            account=lab.tenant.account, actor="test", phone_number=NUMBER, voice_url=lab.app.url + "/voice"
        )
        setup = make_workspace(lab.tenant.account)
        queue = setup.queue("Everyone")
        billing = setup.queue("Billing", "team == 'billing'")
        transfers = [
            {
                "filter_friendly_name": "Transfer to a worker",
                "expression": "transferTargetType == 'worker'",
                "targets": [{"queue": queue.sid, "known_worker_sid": "task.transferTargetSid"}],
            },
            {
                "filter_friendly_name": "Transfer to Billing",
                "expression": f"transferTargetType == 'queue' AND transferTargetSid == '{billing.sid}'",
                "targets": [{"queue": billing.sid}],
            },
        ]
        workflow = setup.workflow({"filters": transfers, "default_filter": {"queue": queue.sid}})
        alice = setup.worker("Alice", {"contact_uri": f"sip:alice@127.0.0.1:{ports['alice']}"})
        bob_attributes = {"contact_uri": f"sip:bob@127.0.0.1:{ports['bob']}", "team": "billing"}
        bob = setup.worker("Bob", bob_attributes, available=False)
        email = f"alice@{lab.tenant.account.sid.lower()}.example"
        worker_member(alice, email=email, password=PASSWORD, role=Role.AGENT)
    lab.serve(
        voice=f'<Response><Enqueue workflowSid="{workflow.sid}">'
        '<Task priority="3">{"type": "billing"}</Task></Enqueue></Response>'
    )
    console = Client()
    assert console.post("/login/", {"email": email, "password": PASSWORD}).status_code == 302
    yield Desk(lab, setup, server, alice, bob, billing, ports, console)
    with lab.db():
        IncomingPhoneNumber.objects.filter(phone_number=NUMBER).delete()


def _leg_port(capture: RtpCapture, hz: int) -> int:
    """The Asterisk port of the leg whose phone sends the tone at `hz`."""
    for port, packets in capture.from_callers().items():
        frames = [ulaw_decode(p) for _, p in audio_frames(packets)]
        if sum(has_tone(f, hz) for f in frames) > len(frames) / 3:
            return port
    raise AssertionError(f"no leg sends {hz} Hz: {sorted(capture.from_callers())}")


def _heard(capture: RtpCapture, port: int, start: float, end: float) -> list[list[int]]:
    """The audio frames the leg at `port` was sent between two wall-clock times."""
    packets: list[RtpPacket] = capture.to_callers().get(port, [])
    return [ulaw_decode(p) for at, p in audio_frames(packets) if start <= at <= end]


def _share(frames: list[list[int]], *hz: int) -> float:
    return sum(any(has_tone(f, h) for h in hz) for f in frames) / max(len(frames), 1)


def test_hold_plays_music_to_the_caller_and_keeps_the_caller_from_the_agent(desk: Desk) -> None:
    with RtpCapture(*TEST_RTP) as capture, desk.phone("alice", ALICE_HZ) as alice:
        caller, task, call_sid = desk.talking_to_alice()
        time.sleep(1)
        held_at = time.time()
        assert desk.control(call_sid, "hold") == {"status": "sent", "action": "hold", "call_sid": call_sid}
        time.sleep(5)
        resumed_at = time.time()
        desk.control(call_sid, "unhold")
        time.sleep(3)
        desk.ended(call_sid)
        assert caller.wait().ok
        assert alice.wait().ok
    caller_port, alice_port = _leg_port(capture, CALLER_HZ), _leg_port(capture, ALICE_HZ)
    before = _heard(capture, caller_port, held_at - 2, held_at)
    held = _heard(capture, caller_port, held_at + 1, resumed_at)
    after = _heard(capture, caller_port, resumed_at + 1, resumed_at + 2.5)
    assert _share(before, ALICE_HZ) > 0.8
    assert _share(held, ALICE_HZ) == 0  # nothing of the agent
    assert _share(held, *HOLD_NOTES) > 0.6  # the platform's hold music
    assert _share(after, ALICE_HZ) > 0.8
    alice_held = _heard(capture, alice_port, held_at + 1, resumed_at)
    assert _share(alice_held, CALLER_HZ) == 0  # the agent hears nothing of the caller
    assert all(is_silence(f) for f in alice_held)
    with desk.lab.db():
        notes = list(
            CallEvent.objects.filter(call_id=sid_to_uuid(call_sid, "CA"), kind="call-control")
            .order_by("date_created")
            .values_list("name", flat=True)
        )
        audited = set(
            AuditEntry.objects.filter(object_sid=call_sid, action__startswith="call_control.").values_list(
                "action", flat=True
            )
        )
    assert notes == ["hold", "unhold"]
    assert audited == {"call_control.hold", "call_control.unhold"}


@pytest.mark.parametrize("kind", ["worker", "queue"])
def test_a_blind_transfer_to_a_worker_or_queue_wraps_the_agent_and_bob_gets_the_caller(
    desk: Desk, kind: str
) -> None:
    """A new task the workflow's transfer filters route: to Bob by his SID, or to Billing, Bob's queue."""
    to = desk.bob.sid if kind == "worker" else desk.billing.sid
    with (
        RtpCapture(*TEST_RTP) as capture,
        desk.phone("alice", ALICE_HZ) as alice,
        desk.phone("bob", BOB_HZ) as bob,
    ):
        caller, task, call_sid = desk.talking_to_alice()
        desk.available(desk.bob)
        answer = desk.control(call_sid, "transfer", to=to, mode="blind")
        assert answer["kind"] == kind
        assert alice.wait().ok  # Alice's leg hung up
        again = wait_for(desk.lab, lambda: Task.objects.exclude(id=task.id).first(), "the transfer's task")
        with desk.lab.db():
            first = Task.objects.get(id=task.id)
            assert first.status == "wrapping"
            assert Reservation.objects.get(task=first).status == "wrapping"
        attributes = json.loads(again.attributes)
        assert (attributes["transferTargetType"], attributes["transferTargetSid"]) == (kind, to)
        assert again.task_queue_id == (desk.billing.id if kind == "queue" else again.task_queue_id)
        assert attributes["call_sid"] == call_sid and attributes["transferredFrom"] == task.sid
        assert again.priority == 3
        desk.dequeue(again, desk.bob)
        time.sleep(3)
        desk.ended(call_sid)
        assert caller.wait().ok
        assert bob.wait().ok
    bob_port = _leg_port(capture, BOB_HZ)
    assert _share(_heard(capture, bob_port, 0, time.time()), CALLER_HZ) > 0.5  # the caller reaches Bob


def test_a_warm_transfer_consults_without_the_caller_then_completes_caller_and_target(desk: Desk) -> None:
    with (
        RtpCapture(*TEST_RTP) as capture,
        desk.phone("alice", ALICE_HZ) as alice,
        desk.phone("carol", BOB_HZ) as carol,
    ):
        caller, task, call_sid = desk.talking_to_alice()
        desk.control(call_sid, "transfer", to=desk.carol_uri, mode="warm")
        consult_at = desk.consulted("completed")
        time.sleep(4)
        completed_at = time.time()
        desk.control(call_sid, "complete")
        assert alice.wait().ok  # the agent leaves
        wait_for(
            desk.lab, lambda: Task.objects.filter(id=task.id, status="wrapping").first(), "Alice wrapping"
        )
        time.sleep(3)
        desk.ended(call_sid)
        assert caller.wait().ok
        assert carol.wait().ok
    caller_port, carol_port = _leg_port(capture, CALLER_HZ), _leg_port(capture, BOB_HZ)
    consulting_caller = _heard(capture, caller_port, consult_at + 0.5, completed_at)
    consulting_carol = _heard(capture, carol_port, consult_at + 0.5, completed_at)
    assert _share(consulting_carol, ALICE_HZ) > 0.6  # Alice and Carol talk
    assert _share(consulting_carol, CALLER_HZ) == 0  # without the caller
    assert _share(consulting_caller, ALICE_HZ, BOB_HZ) == 0  # who hears the music instead
    assert _share(consulting_caller, *HOLD_NOTES) > 0.6
    bridged_caller = _heard(capture, caller_port, completed_at + 1, completed_at + 3)
    bridged_carol = _heard(capture, carol_port, completed_at + 1, completed_at + 3)
    assert _share(bridged_caller, BOB_HZ) > 0.6 and _share(bridged_carol, CALLER_HZ) > 0.6


def test_a_blind_transfer_to_a_sip_address_dials_it_from_the_callers_call(desk: Desk) -> None:
    with (
        RtpCapture(*TEST_RTP) as capture,
        desk.phone("alice", ALICE_HZ) as alice,
        desk.phone("carol", BOB_HZ) as carol,
    ):
        caller, task, call_sid = desk.talking_to_alice()
        assert desk.control(call_sid, "transfer", to=desk.carol_uri)["kind"] == "number"  # blind by default
        assert alice.wait().ok
        wait_for(
            desk.lab, lambda: Task.objects.filter(id=task.id, status="wrapping").first(), "Alice wrapping"
        )
        leg = wait_for(desk.lab, lambda: Call.objects.filter(to_number=desk.carol_uri).first(), "Carol's leg")
        time.sleep(4)
        desk.ended(call_sid)
        assert caller.wait().ok
        assert carol.wait().ok
    with desk.lab.db():
        assert Task.objects.count() == 1  # out of TaskRouter
        assert leg.parent_call_id == sid_to_uuid(call_sid, "CA")
    assert _share(_heard(capture, _leg_port(capture, BOB_HZ), 0, time.time()), CALLER_HZ) > 0.5


def test_a_warm_transfer_declined_or_canceled_returns_the_agent_to_the_caller(desk: Desk) -> None:
    """Carol's phone is busy: Alice is back with the caller; Carol answers the second consultation,
    which Alice cancels: Carol is hung up and Alice is back with the caller again."""
    with RtpCapture(*TEST_RTP) as capture, desk.phone("alice", ALICE_HZ) as alice:
        caller, task, call_sid = desk.talking_to_alice()
        busy = sipp.start_uas(desk.ports["carol"], workdir=desk.lab.workdir / "carol-busy", busy=True)
        desk.control(call_sid, "transfer", to=desk.carol_uri, mode="warm")
        declined_at = desk.consulted("busy")
        assert busy.wait().ok
        time.sleep(2.5)
        with desk.phone("carol", BOB_HZ) as carol:
            desk.control(call_sid, "transfer", to=desk.carol_uri, mode="warm")
            desk.consulted("completed")
            time.sleep(1)
            canceled_at = time.time()
            desk.control(call_sid, "cancel")
            assert carol.wait().ok  # hung up
        time.sleep(2.5)
        desk.ended(call_sid)
        assert caller.wait().ok
        assert alice.wait().ok
    caller_port = _leg_port(capture, CALLER_HZ)
    assert _share(_heard(capture, caller_port, declined_at + 0.5, declined_at + 2.5), ALICE_HZ) > 0.8
    assert _share(_heard(capture, caller_port, canceled_at + 0.8, canceled_at + 2.5), ALICE_HZ) > 0.8
    with desk.lab.db():
        assert Task.objects.get(id=task.id).status == "wrapping"  # after the caller's end, not before
        names = list(
            CallEvent.objects.filter(call_id=sid_to_uuid(call_sid, "CA"), kind="call-control")
            .order_by("date_created")
            .values_list("name", flat=True)
        )
    assert names == ["transfer", "consulted", "transfer", "consulted", "cancel"]


def test_the_agents_leg_lost_requeues_the_caller_at_their_place_and_another_worker_gets_it(
    desk: Desk,
) -> None:
    """Alice's phone goes away without a BYE and Asterisk ends her channel as a network failure
    (as for a transport or media timeout: not normal clearing): the caller hears the notice and is
    back in line with a task as old as the first; Alice is offline; Bob gets the task and the caller."""
    with RtpCapture(*TEST_RTP) as capture, desk.phone("bob", BOB_HZ) as bob:
        alice = desk.phone("alice", ALICE_HZ)
        caller, task, call_sid = desk.talking_to_alice()
        alice.process.kill()
        alice.stop()
        desk.lose(call_sid)
        again = wait_for(desk.lab, lambda: Task.objects.exclude(id=task.id).first(), "the re-queued task")
        with desk.lab.db():
            first = Task.objects.get(id=task.id)
            alice_row = Worker.objects.get(id=desk.alice.id)
        assert (first.status, alice_row.activity_id) == ("wrapping", desk.setup.offline.id)
        assert (again.age_anchor_at, again.priority) == (first.age_anchor_at, 3)
        assert json.loads(again.attributes)["requeueReason"] == "agent-lost"
        lost = wait_for(desk.lab, lambda: CallEvent.objects.filter(name="agent-lost").first(), "the note")
        assert lost.detail["action"] == "requeue" and lost.detail["cause"] not in (0, 16)
        desk.available(desk.bob)
        # The caller takes the dequeue once the notice (made and played: seconds on a loaded machine) ends.
        desk.dequeue(again, desk.bob, answer_s=40)
        time.sleep(3)
        desk.ended(call_sid)
        assert caller.wait().ok
        assert bob.wait().ok
    assert _share(_heard(capture, _leg_port(capture, BOB_HZ), 0, time.time()), CALLER_HZ) > 0.5


@pytest.mark.parametrize("action", ["redial", "hangup"])
def test_the_agents_leg_lost_redials_the_worker_or_ends_the_call_per_the_workspace(
    desk: Desk, action: str
) -> None:
    """`redial`: Alice's contact as it is now rings (her phone back) and she has the caller again, the
    task still hers; `hangup`: the caller hears the notice and the platform ends the call."""
    with desk.lab.db():
        Workspace.objects.filter(id=desk.setup.workspace.id).update(agent_lost_action=action)
    with RtpCapture(*TEST_RTP) as capture:
        alice = desk.phone("alice", ALICE_HZ)
        caller, task, call_sid = desk.talking_to_alice()
        alice.process.kill()
        alice.stop()
        again = None
        if action == "redial":  # her phone is back, elsewhere (the old port still gets the old BYE)
            # Back before the platform redials, which it does after its notice: a phone started after
            # the leg was lost could be late for the redial on a loaded machine.
            desk.ports["alice"] = sipp.free_udp_port()
            with desk.lab.db():
                contact = {"contact_uri": f"sip:alice@127.0.0.1:{desk.ports['alice']}"}
                Worker.objects.filter(id=desk.alice.id).update(attributes_json=contact)
            again = desk.phone("alice", ALICE_HZ)
        desk.lose(call_sid)
        if again is not None:
            wait_for(
                desk.lab,
                lambda: (
                    Call.objects.filter(direction="outbound-dial", to_number__startswith="sip:alice").count()
                    == 2
                ),
                "Alice rung again",
            )
            time.sleep(7)  # the notice, then Alice
            ended_at = time.time()
            desk.ended(call_sid)
            assert again.wait().ok
        assert caller.wait().ok
    # The worker wraps the task up as the call ends, which on a busy machine is after sipp's exit.
    wait_for(desk.lab, lambda: Task.objects.filter(id=task.id, status="wrapping").first(), "the wrap-up")
    with desk.lab.db():
        assert Task.objects.count() == 1  # nobody else's
        assert Worker.objects.get(id=desk.alice.id).activity_id == desk.setup.offline.id
    if again is not None:
        heard = _heard(capture, _leg_port(capture, CALLER_HZ), ended_at - 2, ended_at)
        assert _share(heard, ALICE_HZ) > 0.5


def test_the_agent_hanging_up_ends_the_callers_time_with_the_queue_and_requeues_nothing(desk: Desk) -> None:
    """A BYE from the agent's phone is the agent's choice, not a lost leg: the task wraps up, no new
    task, and the caller goes on past `<Enqueue>` (here: the end of the document, a hangup)."""
    hangs_up = sipp.start_scenario(
        Path(__file__).parent / "sipp" / "uas_hangup.xml",
        workdir=desk.lab.workdir / "alice-hangs-up",
        local_port=desk.ports["alice"],
    )
    with hangs_up:
        caller = desk.caller()
        task = wait_for(desk.lab, lambda: Task.objects.first(), "the caller's task")
        desk.dequeue(task, desk.alice)
        assert hangs_up.wait().ok
        assert caller.wait().ok
    wait_for(desk.lab, lambda: Task.objects.filter(id=task.id, status="wrapping").first(), "the wrap-up")
    with desk.lab.db():
        assert Task.objects.count() == 1
        assert not CallEvent.objects.filter(name="agent-lost").exists()
        assert Worker.objects.get(id=desk.alice.id).activity_id == desk.setup.available.id
