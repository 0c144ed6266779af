"""Queues on real calls: sipp callers through Asterisk into the ARI worker, waiting on the tenant's
wait music or the platform's, dequeued by the official SDK, by `<Leave>`, or bridged to an agent's
`<Dial><Queue>` (a second sipp call), with the actions Twilio requests."""

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from contactcenter.models import Queue, QueueMember
from core.tenancy import tenant_scope
from mediaserver.asterisk import AsteriskInstance
from numbering.models import IncomingPhoneNumber
from numbering.services import number_create
from tests.conftest import make_tenant
from tests.live import AriWorker, asgi_server
from tests.numbering.test_twilio_sdk import sdk
from tests.voice import sipp
from tests.voice.test_call_flows import Lab, _tone_wav
from tests.voice.twiml_app import TwimlApp
from voice.models import Call

pytestmark = pytest.mark.e2e

LINE = "+12065550150"  # callers dial it (<Enqueue>); numbers are global across tests: only here
AGENTS = "+12065550151"  # agents dial it (<Dial><Queue>)


class QueueLab(Lab):
    def numbers(self) -> None:
        with self.db():
            for number, path in ((LINE, "/voice"), (AGENTS, "/agent")):
                number_create(
                    account=self.tenant.account,
                    actor="test",
                    phone_number=number,
                    voice_url=self.app.url + path,
                )

    def caller(self, **options: Any) -> sipp.SippRun:
        return self.start_call(LINE, caller=f"+1415555{next(self._runs):04d}", **options)

    def agent(self, **options: Any) -> sipp.SippRun:
        return self.start_call(AGENTS, caller="+14155559999", **options)

    def members(self) -> list[QueueMember]:
        with self.db():
            return list(QueueMember.objects.select_related("call", "queue").order_by("date_created"))

    def bridges(self) -> list[list[str]]:
        """The channels of each bridge Asterisk has now."""
        a = self.asterisk
        response = httpx.get(f"{a.ari_url}/bridges", auth=(a.ari_username, a.ari_password))
        return [sorted(bridge["channels"]) for bridge in response.json()]


@pytest.fixture
def lab(
    worker: AriWorker,
    asterisk: AsteriskInstance,
    tmp_path: Any,
    django_db_blocker: pytest.FixtureRequest,
) -> Iterator[QueueLab]:
    with TwimlApp() as app, django_db_blocker.unblock():  # type: ignore[attr-defined]
        tenant = make_tenant("Queue clinic")
        queue_lab = QueueLab(asterisk, app, tenant, tmp_path, django_db_blocker)
        queue_lab.numbers()
        yield queue_lab
        with tenant_scope(tenant.account.id):
            IncomingPhoneNumber.objects.filter(phone_number__in=[LINE, AGENTS]).delete()


def wait_until(check: Any, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)
    return found


def test_callers_wait_in_order_and_the_sdk_dequeues_the_front_and_a_given_call(
    lab: QueueLab, celery: None
) -> None:
    tone = _tone_wav(1.0)
    lab.app.routes["/tone.wav"] = lambda form: (200, "audio/wav", tone)
    lab.serve(
        voice='<Response><Enqueue waitUrl="/wait" action="/left">support</Enqueue></Response>',
        wait='<Response><Play loop="0">/tone.wav</Play></Response>',
        left="<Response/>",
        agent_said="<Response><Say>An agent took your call.</Say><Hangup/></Response>",
    )
    first = lab.caller(timeout_s=40)
    lab.app.wait_for("/wait")
    second = lab.caller(timeout_s=40)
    waits = lab.app.wait_for("/wait", count=2)
    assert [(h.form["QueuePosition"], h.form["CurrentQueueSize"]) for h in waits] == [("1", "1"), ("2", "2")]
    assert waits[0].form["MaxQueueSize"] == "1000" and waits[0].form["QueueSid"].startswith("QU")
    assert waits[1].form["QueueSid"] == waits[0].form["QueueSid"] and waits[1].form["QueueTime"] == "0"
    assert lab.app.is_signed(waits[0], lab.tenant.token)
    queue_sid, first_sid, second_sid = (
        waits[0].form["QueueSid"],
        waits[0].form["CallSid"],
        waits[1].form["CallSid"],
    )
    time.sleep(2)  # the tone loops inside Asterisk: the wait document is not fetched again
    assert len(lab.app.requests_to("/wait")) == 2 and len(lab.app.requests_to("/tone.wav")) == 1

    with asgi_server() as server:
        client = sdk(server, lab.tenant.sid, lab.tenant.token)
        members = client.queues(queue_sid).members.list()
        assert [(m.call_sid, m.position) for m in members] == [(first_sid, 1), (second_sid, 2)]
        assert client.queues(queue_sid).fetch().current_size == 2
        front = (
            client.queues(queue_sid).members("Front").update(url=lab.app.url + "/agent_said", method="POST")
        )
        assert front.call_sid == first_sid
        left = lab.app.wait_for("/left")[0].form
        assert (left["QueueResult"], left["CallSid"], left["QueueSid"]) == (
            "redirected",
            first_sid,
            queue_sid,
        )
        said = lab.app.wait_for("/agent_said")[0].form
        assert said["CallSid"] == first_sid
        assert first.wait().ok
        assert [m.position for m in client.queues(queue_sid).members.list()] == [1]

        client.queues(queue_sid).members(second_sid).update(url=lab.app.url + "/agent_said")
        assert second.wait().ok
        assert client.queues(queue_sid).fetch().current_size == 0
    assert [h.form["CallSid"] for h in lab.app.wait_for("/agent_said", count=2)] == [first_sid, second_sid]
    assert [(m.status, m.result) for m in lab.members()] == [("left", "redirected")] * 2
    assert all(c.status == "completed" for c in lab.calls())


def test_leave_in_the_wait_music_goes_on_after_the_enqueue(lab: QueueLab) -> None:
    lab.serve(
        voice='<Response><Enqueue waitUrl="/wait">support</Enqueue><Say>Call again tomorrow.</Say>'
        "<Hangup/></Response>",
        wait="<Response><Say>The line is closed.</Say><Dial>+15550001</Dial><Leave/></Response>",
    )
    assert lab.call(LINE).ok
    [member] = lab.members()
    assert (member.status, member.result) == ("left", "leave")
    assert lab.notifications() == [(12200, 1)]  # the Dial, which a wait document may not hold
    [call] = lab.calls()
    assert call.status == "completed"


def test_a_full_queue_turns_the_next_caller_to_the_action(lab: QueueLab) -> None:
    with lab.db():
        Queue.objects.create(account=lab.tenant.account, friendly_name="support", max_size=1)
    lab.serve(
        voice='<Response><Enqueue action="/full">support</Enqueue></Response>',
        full="<Response><Say>Sorry, all lines are busy.</Say><Hangup/></Response>",
    )
    waiting = lab.caller(hangup_after_ms=6000, timeout_s=30)
    wait_until(lambda: lab.members())
    assert lab.call(LINE).ok
    full = lab.app.wait_for("/full")[0].form
    assert full["QueueResult"] == "queue-full" and "QueueSid" not in full
    assert len(lab.members()) == 1
    assert waiting.wait().ok


def test_a_caller_hanging_up_while_waiting_leaves_the_queue_and_the_action_hears_it(
    lab: QueueLab, celery: None
) -> None:
    lab.serve(voice='<Response><Enqueue action="/left">support</Enqueue></Response>', left="<Response/>")
    assert lab.call(LINE, hangup_after_ms=2500).ok
    left = lab.app.wait_for("/left")[0].form
    assert (left["QueueResult"], left["CallStatus"]) == ("hangup", "completed")
    assert int(left["QueueTime"]) >= 2
    [member] = lab.members()
    assert (member.status, member.result) == ("left", "hangup") and member.left_at is not None
    assert lab.calls()[0].status == "completed" and lab.app_channels() == []


def test_an_agent_bridges_the_front_caller_after_its_announcement(lab: QueueLab, celery: None) -> None:
    lab.serve(
        voice='<Response><Enqueue action="/caller_left">support</Enqueue></Response>',
        caller_left="<Response><Say>Thanks for calling.</Say><Hangup/></Response>",
        agent='<Response><Dial action="/dialed"><Queue url="/announce">support</Queue></Dial></Response>',
        announce="<Response><Say>Connecting you to an agent.</Say></Response>",
        dialed="<Response/>",
    )
    early = lab.caller(timeout_s=40)
    wait_until(lambda: lab.members())
    late = lab.caller(hangup_after_ms=12000, timeout_s=40)
    wait_until(lambda: len(lab.members()) == 2)
    agent = lab.agent(hangup_after_ms=6000, timeout_s=30)

    announce = lab.app.wait_for("/announce")[0].form
    first, second = lab.members()
    agent_sid = announce["DequeingCallSid"]
    assert (announce["CallSid"], announce["QueueSid"]) == (first.call.sid, first.queue.sid)
    assert int(announce["QueueTime"]) >= 0 and agent_sid.startswith("CA") and agent_sid != first.call.sid
    bridged = wait_until(lambda: [b for b in lab.bridges() if len(b) == 2])
    with lab.db():
        agent_channel = Call.objects.get(id=agent_sid[2:]).channel_id
    assert bridged == [sorted([first.call.channel_id, agent_channel])]
    assert lab.members()[1].status == "waiting"

    assert agent.wait().ok
    caller_left = lab.app.wait_for("/caller_left")[0].form
    assert (caller_left["QueueResult"], caller_left["CallSid"]) == ("bridged", first.call.sid)
    dialed = lab.app.wait_for("/dialed")[0].form
    assert (dialed["DialCallStatus"], dialed["DialCallSid"]) == ("completed", first.call.sid)
    assert int(dialed["DialCallDuration"]) >= 2 and dialed["QueueSid"] == first.queue.sid
    assert early.wait().ok
    first, second = lab.members()
    assert (first.status, first.result, first.dequeued_by_id.hex) == ("left", "bridged", agent_sid[2:])
    assert first.bridged_at is not None and second.status == "waiting"
    assert late.wait().ok


def test_the_caller_hanging_up_in_the_bridge_lets_the_agent_go_on(lab: QueueLab) -> None:
    lab.serve(
        voice='<Response><Enqueue action="/caller_left">support</Enqueue></Response>',
        caller_left="<Response/>",
        agent='<Response><Dial action="/dialed"><Queue>support</Queue></Dial></Response>',
        dialed="<Response><Say>The caller hung up.</Say><Hangup/></Response>",
    )
    caller = lab.caller(hangup_after_ms=5000, timeout_s=30)
    wait_until(lambda: lab.members())
    agent = lab.agent(timeout_s=30)
    wait_until(lambda: [b for b in lab.bridges() if len(b) == 2])
    assert caller.wait().ok
    dialed = lab.app.wait_for("/dialed")[0].form
    assert dialed["DialCallStatus"] == "completed" and dialed["CallStatus"] == "in-progress"
    assert agent.wait().ok  # the agent heard its next document, which hung up
    assert lab.bridges() == []


def test_an_agent_on_an_empty_queue_waits_for_the_next_caller(lab: QueueLab) -> None:
    lab.serve(
        voice="<Response><Enqueue>support</Enqueue></Response>",
        agent='<Response><Dial timeout="20"><Queue>support</Queue></Dial></Response>',
    )
    with lab.db():
        Queue.objects.create(account=lab.tenant.account, friendly_name="support")
    agent = lab.agent(hangup_after_ms=8000, timeout_s=30)
    time.sleep(2)
    caller = lab.caller(timeout_s=30)
    wait_until(lambda: [b for b in lab.bridges() if len(b) == 2])
    assert agent.wait().ok and caller.wait().ok
    assert [(m.status, m.result) for m in lab.members()] == [("left", "bridged")]


def test_two_agents_at_once_never_get_the_same_caller(lab: QueueLab) -> None:
    lab.serve(
        voice="<Response><Enqueue>support</Enqueue></Response>",
        agent='<Response><Dial><Queue url="/announce">support</Queue></Dial></Response>',
        announce="<Response><Pause length='1'/></Response>",
    )
    callers = [lab.caller(timeout_s=40) for _ in range(2)]
    wait_until(lambda: len(lab.members()) == 2)
    agents = lab.start_call(AGENTS, calls=2, rate_per_s=100, hangup_after_ms=5000, timeout_s=30)
    announced = lab.app.wait_for("/announce", count=2)
    assert {h.form["CallSid"] for h in announced} == {m.call.sid for m in lab.members()}
    assert len({h.form["DequeingCallSid"] for h in announced}) == 2
    wait_until(lambda: len([b for b in lab.bridges() if len(b) == 2]) == 2)
    assert agents.wait().successful_calls == 2
    members = lab.members()
    assert [(m.status, m.result) for m in members] == [("left", "bridged")] * 2
    assert len({m.dequeued_by_id for m in members}) == 2
    for caller in callers:
        assert caller.wait().ok


def test_hold_music_without_a_wait_url_fetches_nothing(lab: QueueLab) -> None:
    lab.serve(voice="<Response><Enqueue>support</Enqueue></Response>")
    caller = lab.caller(hangup_after_ms=4000, timeout_s=20)
    assert caller.wait().ok
    assert [h.path for h in lab.app.hits] == ["/voice"]
    assert (lab.asterisk.sounds_dir / "hold" / "default.wav").exists()
