"""A built-in agent on a real call: sipp says "I want to talk to a person" (espeak-ng audio as a μ-law
pcap) through Asterisk into the ARI worker, the media bridge and `manage.py speech_relay`, which
opens the agent's websocket on a real uvicorn server (signed as Twilio signs), where the scripted
agent hands the caller off; the `<Connect action>` then enqueues the call on the agent's workflow,
and the TaskRouter task carries the summary and transcript the agent console shows. A second call asks
"text me the address": the agent's `send_text` tool texts the FAQ's answer through a Celery worker,
`manage.py carrier_gateway` and SMPP to the SMSC sandbox, into the call's conversation. A third
speaks over the agent's long greeting, and the loopback capture shows the greeting cut within 100 ms
of the caller's first word; the same greeting with `welcomeGreetingInterruptible="none"` plays on."""

import dataclasses
import sys
from collections.abc import Iterator

import pytest
from django.test import override_settings

from ai.handoff import agent_twiml
from ai.models import Agent
from ai.services import agent_create, faq_entry_create
from contactcenter.taskrouter.models import Task
from conversations.models import AgentTurn, Item
from messaging.models import Message
from numbering.models import IncomingPhoneNumber
from numbering.services import number_update
from tests.ai.speech import speech_pcap
from tests.asterisk import TEST_RTP
from tests.contactcenter.taskrouter.factories import make_workspace
from tests.live import AriWorker, ari_worker, asgi_server, free_port, http_process
from tests.messaging.conftest import finish_unfinished_work, gateway_process, smpp_connector
from tests.messaging.smsc import Smsc
from tests.voice.audio import is_silence, ulaw_decode
from tests.voice.rtp_capture import RtpCapture, audio_frames
from tests.voice.test_call_flows import NUMBER, Lab
from twiml import verbs
from twiml.builder import to_xml
from voice.models import MediaServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def platform(django_db_setup: None) -> Iterator[str]:
    """uvicorn serving the agents (their TwiML, hand-off and websocket) at the URL it tells itself."""
    port = free_port()
    with asgi_server(port, SWITCHBOARD_AGENTS_WS_URL=f"ws://127.0.0.1:{port}/ws/agents/") as base:
        yield base


@pytest.fixture(scope="module")
def relay_url() -> Iterator[str]:
    port = free_port()
    with http_process(
        [sys.executable, "manage.py", "speech_relay", "--port", str(port)],
        probe=f"http://127.0.0.1:{port}/",
        log_name=f"test-agent-speech-relay-{port}.log",
        what="the speech relay",
    ):
        yield f"ws://127.0.0.1:{port}/relay"


@pytest.fixture(scope="module")
def worker(media_server: MediaServer, relay_url: str, platform: str) -> Iterator[AriWorker]:
    agents = platform.replace("http://", "ws://") + "/ws/agents/"
    with ari_worker(
        media_server.name, SWITCHBOARD_SPEECH_RELAY_URL=relay_url, SWITCHBOARD_AGENTS_WS_URL=agents
    ) as running:
        yield running


def test_a_caller_asks_the_agent_for_a_person_and_waits_in_the_queue_with_a_summary(
    lab: Lab, platform: str
) -> None:
    with lab.db():
        desk = make_workspace(lab.tenant.account)
        queue = desk.queue("Front desk")
        workflow = desk.workflow({"default_filter": {"queue": queue.sid}})
        agent: Agent = agent_create(
            account=lab.tenant.account,
            actor="test",
            friendly_name="Call assistant",
            welcome_greeting="Hello.",
            tools=["transfer_to_human"],
            handoff_workflow_sid=workflow.sid,
            handoff_queue="Front desk",
        )
    lab.give_number(voice_url=f"{platform}/agents/{agent.sid}/twiml")
    pcap = speech_pcap(("wait", 2500), ("say", "I want to talk to a person"), ("wait", 11000))
    result = lab.call(pcap=pcap, hangup_after_ms=16000, timeout_s=35)  # the caller hangs up in the queue
    assert result.ok, result.explain()

    (call,) = lab.calls()
    with lab.db():
        (task,) = Task.objects.filter(workflow=workflow)
        attributes = task.attributes_json
        (turn,) = AgentTurn.objects.filter(call=call)
    assert attributes["type"] == "ai-handoff" and attributes["call_sid"] == call.sid
    assert "person" in attributes["summary"] and attributes["reason"] == "caller asked for a person"
    assert attributes["transcript"][0]["role"] == "caller" and "person" in attributes["transcript"][0]["text"]
    assert turn.tool_calls[0]["name"] == "transfer_to_human" and "connect you" in turn.agent_text


def test_a_caller_asks_the_agent_to_text_the_address_and_the_text_leaves_through_the_carrier(
    lab: Lab, platform: str, celery: None, smsc: Smsc
) -> None:
    caller = "+14155550177"
    address = "We are at 12 Harbor Street, Springfield."
    with lab.db():
        agent: Agent = agent_create(
            account=lab.tenant.account,
            actor="test",
            friendly_name="Front desk",
            welcome_greeting="Hello.",
            tools=["send_text"],
        )
        # As a tenant writes it: the agent's hints add "text me the address" (ai/handoff.py, agent_hints).
        faq_entry_create(agent=agent, actor="test", phrases=["address"], answer=address)
    lab.give_number(voice_url=f"{platform}/agents/{agent.sid}/twiml")
    with lab.blocker.unblock():
        finish_unfinished_work()
        smpp_connector(smsc, name="agent-sms")
    pcap = speech_pcap(("wait", 2500), ("say", "text me the address"), ("wait", 6000))
    with gateway_process():
        result = lab.call(caller=caller, pcap=pcap, hangup_after_ms=11000, timeout_s=30)
        assert result.ok, result.explain()
        smsc.wait_stats(lambda stats: stats["accepted"] >= 1)

    [submitted] = smsc.submissions()
    assert submitted["destination_addr"] == caller.lstrip("+")
    assert submitted["source_addr"] == NUMBER.lstrip("+")
    assert address in submitted["text"]
    (call,) = lab.calls()
    with lab.db():
        (message,) = Message.objects.filter(call=call)
        texted = Item.objects.get(message=message)
        threads = {item.conversation_id for item in Item.objects.filter(call=call)}
        (turn,) = AgentTurn.objects.filter(call=call).exclude(tool_calls=[])
    assert (message.to_number, message.from_number, message.body) == (caller, NUMBER, address)
    assert threads == {texted.conversation_id}  # the call and the agent's text: one thread with the caller
    (tool_call,) = turn.tool_calls
    assert tool_call["name"] == "send_text" and tool_call["arguments"] == {"body": address}
    assert not tool_call["refused"] and message.sid in tool_call["result"]
    assert "text me the address" in turn.caller_text and "sent you a text" in turn.agent_text


# One clause with no commas, so espeak-ng leaves no pause in it that could pass for the agent stopping.
LONG_GREETING = (
    "Thank you for calling the Springfield clinic where our friendly team looks after patients of every"
    " age and we are always glad to help you book an appointment or answer your questions"
)
# The goal, from the caller's first speech packet reaching Asterisk to the end of the last
# agent packet leaving it (its send time plus the PACKET_MS the caller hears it for): both ends on the
# wire at the platform's edge (kernel times on loopback), so no network or other party is inside it.
# Left out, as the caller's phone's own: the 20 ms it frames before its first speech packet leaves.
BARGE_IN_MS = 100
PACKET_MS = 20  # μ-law RTP: a packet every 20 ms
PAUSE_S = 0.4  # nothing sounding sent to the caller this long: the agent has stopped
# espeak-ng's pauses are 2-4 RMS and its softest sounds 25 and up, under tests.voice.audio's 100 for
# silence: the agent's quiet consonants are still its speech (and the caller's silence is 0).
SOUND_RMS = 10.0


@dataclasses.dataclass(frozen=True)
class Overlap:
    """A call where the caller spoke over the agent, in the capture's (kernel) seconds."""

    agent_from_s: float  # the first packet of agent speech sent to the caller
    caller_from_s: float  # the caller's first packet of speech, sent to Asterisk
    agent_until_s: float  # the last packet of agent speech sent before it paused
    sent_until_s: float  # the last packet of any kind sent then (after a clear Asterisk sends none)

    @property
    def stopped_after_ms(self) -> float:
        return (self.agent_until_s - self.caller_from_s) * 1000

    @property
    def stream_stopped_after_ms(self) -> float:
        """The reaction itself, even when the caller began in a pause between the agent's words."""
        return (self.sent_until_s - self.caller_from_s) * 1000


def _sounding(frames: list[tuple[float, bytes]]) -> list[float]:
    return [at for at, payload in frames if not is_silence(ulaw_decode(payload), SOUND_RMS)]


def _last_before_pause(times: list[float], since: float) -> float:
    """The last of `times` (in order) from the one at or before `since` until a gap of PAUSE_S."""
    until = max(at for at in times if at <= since)
    for at in times:
        if at > until + PAUSE_S:
            break
        until = max(until, at)
    return until


def _overlap(capture: RtpCapture) -> Overlap:
    """Where the caller's speech started, and where the agent's speech going on over it stopped."""
    legs = {port: _sounding(audio_frames(sent)) for port, sent in capture.from_callers().items()}
    ((port, spoken),) = [(port, at) for port, at in legs.items() if at]  # the one caller who spoke
    frames = audio_frames(capture.to_callers()[port])
    agent = _sounding(frames)
    return Overlap(
        agent_from_s=agent[0],
        caller_from_s=spoken[0],
        agent_until_s=_last_before_pause(agent, spoken[0]),
        sent_until_s=_last_before_pause([at for at, _ in frames], spoken[0]),
    )


def _serve_uninterruptible(lab: Lab, agent: Agent, platform: str) -> None:
    """The number's TwiML becomes the agent's own with `welcomeGreetingInterruptible="none"`."""
    with override_settings(AGENTS_WS_URL=platform.replace("http://", "ws://") + "/ws/agents/"):
        (connect,) = agent_twiml(agent).verbs
    assert isinstance(connect, verbs.Connect)
    relay = dataclasses.replace(connect.children[0], welcome_greeting_interruptible="none")
    lab.serve(voice=to_xml(verbs.Response((verbs.Connect(children=(relay,)),))))
    with lab.db():
        number = IncomingPhoneNumber.objects.get(phone_number=NUMBER)
        number_update(number=number, actor="test", voice_url=lab.app.url + "/voice")


def test_a_caller_speaking_over_the_greeting_stops_it_within_100_ms_unless_it_is_not_interruptible(
    lab: Lab, platform: str
) -> None:
    with lab.db():
        agent: Agent = agent_create(
            account=lab.tenant.account,
            actor="test",
            friendly_name="Front desk",
            welcome_greeting=LONG_GREETING,
        )
    lab.give_number(voice_url=f"{platform}/agents/{agent.sid}/twiml")
    # Mid-greeting; the caller hangs up before the agent's reply could be taken for the greeting.
    pcap = speech_pcap(("wait", 3500), ("say", "I want to book an appointment"), ("wait", 1500))
    with RtpCapture(*TEST_RTP) as capture:
        result = lab.call(pcap=pcap, hangup_after_ms=6500, timeout_s=20)
    assert result.ok, result.explain()
    barged = _overlap(capture)

    _serve_uninterruptible(lab, agent, platform)  # the negative case: the same measure, barge-in off
    pcap = speech_pcap(("wait", 3500), ("say", "I want to book an appointment"), ("wait", 6500))
    with RtpCapture(*TEST_RTP) as capture:
        result = lab.call(pcap=pcap, hangup_after_ms=11500, timeout_s=25)
    assert result.ok, result.explain()
    played_on = _overlap(capture)

    print(
        f"barge-in on a real call: the agent's last packet {barged.stream_stopped_after_ms:.0f} ms after the"
        f" caller's first, its last speech {barged.stopped_after_ms:.0f} ms;"
        f" not interruptible: {played_on.stopped_after_ms:.0f} ms"
    )
    greeting_s = played_on.agent_until_s - played_on.agent_from_s
    assert greeting_s - (barged.caller_from_s - barged.agent_from_s) > 1.0  # seconds of it were still due
    # The stream's end, not only speech's: a caller starting in a pause between words is measured too.
    assert barged.stream_stopped_after_ms + PACKET_MS <= BARGE_IN_MS, barged
    assert played_on.stopped_after_ms > 1000, played_on  # the measure sees a greeting not cut
