"""A speech-to-speech agent as a Media Streams app on a real uvicorn server. The media bridge's side
is played by tests/streams/twilio_driver.py (Twilio's messages, 20 ms frames in real time, a playout
that echoes marks), signing its upgrade as the platform's bridge does; the model is a local websocket
server speaking the OpenAI Realtime protocol as documented
(https://platform.openai.com/docs/guides/realtime-conversations, client events at
https://platform.openai.com/docs/api-reference/realtime-client-events, server events at
https://platform.openai.com/docs/api-reference/realtime-server-events)."""

import asyncio
import base64
import contextlib
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from ai.models import Agent
from ai.services import agent_create
from ai.stream_outcomes import stream_outcome_take
from compliance.models import AuditEntry
from conversations.models import AgentTurn
from core import webhooks
from core.tenancy import tenant_scope
from messaging.models import Message
from tests.conftest import Tenant, make_tenant
from tests.conversations.factories import inbound_call, number
from tests.streams.twilio_driver import Drive, drive
from voice.models import Call

pytestmark = pytest.mark.e2e

CLINIC, PATIENT = "+12025550191", "+14155550191"
CALLER_AUDIO = bytes(range(0, 256, 2)) * 10  # 160 ms of μ-law the model must receive unchanged
SPOKEN = [bytes([0x10 + i]) * 160 for i in range(10)]  # 200 ms of the model's μ-law, frame by frame
ADDRESS = "1 Example Street."
CARD = "My card is 4111 1111 1111 1111."  # redacted before it is stored (the model heard it spoken)
CALLER_TRANSCRIPT = "conversation.item.input_audio_transcription.completed"


def event(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, "event_id": f"event_{kind}", **fields})


class Model:
    """The Realtime side of one session, recording what the platform sent it."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.authorization = ""

    async def expect(self, socket: ServerConnection, kind: str) -> dict[str, Any]:
        while True:
            message = json.loads(await socket.recv())
            self.received.append(message)
            if message["type"] == kind:
                return message

    async def __call__(self, socket: ServerConnection) -> None:
        """Hears the caller, is asked to text the address, says so while texting it, then transfers."""
        assert socket.request is not None
        self.authorization = socket.request.headers["Authorization"]
        await self.expect(socket, "session.update")
        for _ in range(len(CALLER_AUDIO) // 160):
            await self.expect(socket, "input_audio_buffer.append")
        await socket.send(
            event(
                CALLER_TRANSCRIPT,
                item_id="item_c1",
                content_index=0,
                transcript=f"Text me the address? {CARD}",
            )
        )
        for chunk in SPOKEN:
            delta = base64.b64encode(chunk).decode()
            await socket.send(
                event("response.output_audio.delta", response_id="r1", item_id="item_a1", delta=delta)
            )
        await socket.send(
            event("response.output_audio_transcript.done", item_id="item_a1", transcript="Sending it.")
        )
        await self.call(socket, "call_1", "send_text", {"body": ADDRESS})
        await self.expect(socket, "response.create")
        await socket.send(event("response.done", response={"id": "r1", "status": "completed"}))
        await self.call(socket, "call_2", "transfer_to_human", {"summary": "Wants the address and a person"})
        with contextlib.suppress(ConnectionClosed):
            while True:  # until the platform closes: nothing more is asked of the model
                self.received.append(json.loads(await socket.recv()))

    async def call(
        self, socket: ServerConnection, call_id: str, name: str, arguments: dict[str, Any]
    ) -> None:
        item = {"type": "function_call", "call_id": call_id, "name": name, "arguments": json.dumps(arguments)}
        await socket.send(event("response.output_item.done", response_id="r1", output_index=0, item=item))
        await self.expect(socket, "conversation.item.create")


@pytest.fixture(scope="module")
def clinic(django_db_setup: None, django_db_blocker: Any) -> Iterator[Tenant]:
    with django_db_blocker.unblock():
        tenant = make_tenant("Realtime clinic")
        with transaction.atomic():
            number(tenant, CLINIC)
        yield tenant


def _agent(tenant: Tenant, blocker: Any, endpoint: str, *, handoff_queue: str = "Front desk") -> Agent:
    with blocker.unblock(), tenant_scope(tenant.account.id):
        return agent_create(
            account=tenant.account,
            actor="test",
            friendly_name="Voice desk",
            instructions="You are the clinic's front desk.",
            brain="openai-realtime",
            llm_endpoint=endpoint,
            llm_model="gpt-realtime",
            llm_api_key="sk-clinic",
            tools=["transfer_to_human", "send_text"],
            handoff_queue=handoff_queue,
            is_redacting=True,
        )


def _call(blocker: Any) -> Call:
    with blocker.unblock():
        return inbound_call(PATIENT, CLINIC)


def _stream(server: str, agent: Agent, tenant: Tenant, call: Call, *, token: str | None = None) -> Drive:
    url = server.replace("http://", "ws://") + f"/ws/agents/{agent.sid}/stream"
    signature = webhooks.signature(url, {}, token or tenant.token)
    return asyncio.run(
        drive(
            url,
            caller_audio=CALLER_AUDIO,
            hold_s=6.0,
            account_sid=tenant.sid,
            call_sid=call.sid,
            headers={"X-Twilio-Signature": signature},
        )
    )


def test_the_caller_talks_to_the_model_its_tools_run_for_the_tenant_and_it_hands_off(
    server: str, clinic: Tenant, django_db_blocker: Any
) -> None:
    model = Model()

    async def session() -> tuple[Drive, Agent, Call]:
        async with serve(model, "127.0.0.1", 0) as realtime:
            port = realtime.sockets[0].getsockname()[1]
            agent = await asyncio.to_thread(_agent, clinic, django_db_blocker, f"http://127.0.0.1:{port}/v1")
            call = await asyncio.to_thread(_call, django_db_blocker)
            url = server.replace("http://", "ws://") + f"/ws/agents/{agent.sid}/stream"
            signature = webhooks.signature(url, {}, clinic.token)
            heard = await drive(
                url,
                caller_audio=CALLER_AUDIO,
                hold_s=6.0,
                account_sid=clinic.sid,
                call_sid=call.sid,
                headers={"X-Twilio-Signature": signature},
            )
            return heard, agent, call

    heard, agent, call = asyncio.run(session())
    assert model.authorization == "Bearer sk-clinic"
    update = model.received[0]["session"]
    assert update["instructions"] == "You are the clinic's front desk."
    assert [tool["name"] for tool in update["tools"]] == ["transfer_to_human", "send_text"]
    # The caller's audio reached the model byte for byte; the model's reached the caller, in order.
    appended = [m["audio"] for m in model.received if m["type"] == "input_audio_buffer.append"]
    assert b"".join(base64.b64decode(a) for a in appended).startswith(CALLER_AUDIO)
    assert [frame for _, frame in heard.played if frame != b"\xff" * 160][: len(SPOKEN)] == SPOKEN
    # The hand-off: no answer asked of the model after it, the last words played (the mark came back)
    # before the stream closed, and the session's outcome left for the <Connect action>.
    kinds = [m["type"] for m in model.received]
    assert kinds.count("response.create") == 1 and kinds[-1] == "conversation.item.create"
    assert heard.app_closed_at is not None and heard.app_closed_at < 6.0
    assert heard.events("mark")[-1][1]["mark"]["name"] == "agent-end"
    outcome = stream_outcome_take(clinic.sid, call.sid)
    assert outcome is not None and outcome["status"] == "completed"
    handoff = json.loads(outcome["handoff_data"])
    assert handoff["reasonCode"] == "live-agent-handoff" and handoff["queue"] == "Front desk"
    assert handoff["summary"] == "Wants the address and a person"
    assert handoff["transcript"] == [
        {"role": "caller", "text": "Text me the address? My card is [card number]."},
        {"role": "agent", "text": "Sending it."},
    ]
    with django_db_blocker.unblock(), tenant_scope(clinic.account.id):
        (text,) = Message.objects.filter(call=call)
        assert (text.to_number, text.from_number, text.body) == (PATIENT, CLINIC, ADDRESS)
        turns = list(AgentTurn.objects.filter(call=call).order_by("date_created"))
        assert [(t.caller_text, t.agent_text) for t in turns] == [
            ("Text me the address? My card is [card number].", "Sending it."),
            ("", ""),
        ]
        assert turns[0].tool_calls[0]["name"] == "send_text" and "reply_ms" in turns[0].timings
        assert turns[1].tool_calls[0]["name"] == "transfer_to_human"
        for _ in range(50):  # the digest is written as the socket closes
            if AuditEntry.objects.filter(action="agent.session.end", object_sid=call.sid).exists():
                break
            time.sleep(0.1)
        assert AuditEntry.objects.filter(action="agent.session.end", object_sid=call.sid).exists()


def test_a_model_that_cannot_be_reached_hands_the_caller_over_and_a_forged_stream_is_refused(
    server: str, clinic: Tenant, django_db_blocker: Any
) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    agent = _agent(clinic, django_db_blocker, f"http://127.0.0.1:{port}/v1")
    call = _call(django_db_blocker)

    forged = _stream(server, agent, clinic, call, token="not-the-token")
    assert not forged.received and forged.app_closed_at is not None and forged.app_closed_at < 2.0
    assert stream_outcome_take(clinic.sid, call.sid) is None

    heard = _stream(server, agent, clinic, call)
    assert heard.app_closed_at is not None and heard.app_closed_at < 6.0
    outcome = stream_outcome_take(clinic.sid, call.sid)
    assert (
        outcome is not None and outcome["status"] == "failed" and "could not be reached" in outcome["error"]
    )
    assert json.loads(outcome["handoff_data"])["queue"] == "Front desk"


def test_a_model_that_drops_mid_call_hands_the_caller_over_with_the_transcript(
    server: str, clinic: Tenant, django_db_blocker: Any
) -> None:
    async def drops(socket: ServerConnection) -> None:
        await socket.recv()  # session.update
        await socket.send(event(CALLER_TRANSCRIPT, item_id="item_c1", content_index=0, transcript="Hello?"))
        await socket.close()

    async def session() -> tuple[Drive, Call]:
        async with serve(drops, "127.0.0.1", 0) as realtime:
            port = realtime.sockets[0].getsockname()[1]
            agent = await asyncio.to_thread(_agent, clinic, django_db_blocker, f"http://127.0.0.1:{port}/v1")
            call = await asyncio.to_thread(_call, django_db_blocker)
            return await asyncio.to_thread(_stream, server, agent, clinic, call), call

    heard, call = asyncio.run(session())
    assert heard.app_closed_at is not None and heard.app_closed_at < 6.0
    outcome = stream_outcome_take(clinic.sid, call.sid)
    assert outcome is not None and outcome["status"] == "failed" and "connection ended" in outcome["error"]
    assert json.loads(outcome["handoff_data"])["transcript"] == [{"role": "caller", "text": "Hello?"}]


def test_a_caller_pressing_0_is_told_in_the_platforms_voice_and_handed_over(
    server: str, clinic: Tenant, django_db_blocker: Any
) -> None:
    """The model is not asked: it keeps talking, but once the caller presses 0 the caller hears the
    platform's hand-off words (espeak-ng) instead, then the stream closes with the hand-off."""

    async def talks(socket: ServerConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            await socket.recv()  # session.update
            for _ in range(400):  # 8 s of the model speaking, unless the platform closes it
                delta = base64.b64encode(SPOKEN[0]).decode()
                await socket.send(event("response.output_audio.delta", item_id="item_a1", delta=delta))
                await asyncio.sleep(0.02)

    async def session() -> tuple[Drive, Call]:
        async with serve(talks, "127.0.0.1", 0) as realtime:
            port = realtime.sockets[0].getsockname()[1]
            agent = await asyncio.to_thread(_agent, clinic, django_db_blocker, f"http://127.0.0.1:{port}/v1")
            call = await asyncio.to_thread(_call, django_db_blocker)
            url = server.replace("http://", "ws://") + f"/ws/agents/{agent.sid}/stream"
            signature = webhooks.signature(url, {}, clinic.token)
            heard = await drive(
                url,
                caller_audio=CALLER_AUDIO,
                digits={0.5: "0"},
                hold_s=8.0,
                account_sid=clinic.sid,
                call_sid=call.sid,
                headers={"X-Twilio-Signature": signature},
            )
            return heard, call

    heard, call = asyncio.run(session())
    assert heard.app_closed_at is not None and heard.app_closed_at < 7.0
    pressed = heard.dtmf_sent[0][0]
    model = [at for at, frame in heard.played if frame == SPOKEN[0]]
    words = [at for at, frame in heard.played if frame not in (SPOKEN[0], b"\xff" * 160)]
    assert model and max(model) < pressed + 1.0  # cut off (it talks for 8 s); a margin for a busy machine
    assert len(words) * 0.02 > 1.5 and min(words) > pressed  # "Let me connect you with a person…"
    outcome = stream_outcome_take(clinic.sid, call.sid)
    assert outcome is not None and outcome["status"] == "completed"
    assert json.loads(outcome["handoff_data"])["reason"] == "caller pressed 0"


def test_with_no_route_to_people_the_model_is_told_and_a_caller_pressing_0_hears_what_it_can_do(
    server: str, clinic: Tenant, django_db_blocker: Any
) -> None:
    """No hand-off route: the model is offered no transfer and told nobody can take the call; a
    caller asking for a person is the model's to answer, and 0 (which the model does not hear) gets
    the platform's words; neither ends the session."""
    sessions: list[dict[str, Any]] = []
    let_go = asyncio.Event()  # made in session()'s loop, below

    async def listens(socket: ServerConnection) -> None:
        try:
            with contextlib.suppress(ConnectionClosed):
                sessions.append(json.loads(await socket.recv()))  # session.update
                transcript = "I want to talk to a person"
                await socket.send(
                    event(CALLER_TRANSCRIPT, item_id="item_c1", content_index=0, transcript=transcript)
                )
                while True:
                    await socket.recv()
        finally:
            let_go.set()

    async def session() -> tuple[Drive, Call]:
        async with serve(listens, "127.0.0.1", 0) as realtime:
            port = realtime.sockets[0].getsockname()[1]
            endpoint = f"http://127.0.0.1:{port}/v1"
            agent = await asyncio.to_thread(_agent, clinic, django_db_blocker, endpoint, handoff_queue="")
            call = await asyncio.to_thread(_call, django_db_blocker)
            url = server.replace("http://", "ws://") + f"/ws/agents/{agent.sid}/stream"
            heard = await drive(
                url,
                caller_audio=CALLER_AUDIO,
                digits={0.5: "0"},
                hold_s=5.0,
                account_sid=clinic.sid,
                call_sid=call.sid,
                headers={"X-Twilio-Signature": webhooks.signature(url, {}, clinic.token)},
            )
            # The agent lets go of the model once it hears the caller's `stop`; closing this server
            # first ended the session as the model's failure instead (a CI run on a busy machine).
            await asyncio.wait_for(let_go.wait(), 10)
            return heard, call

    heard, call = asyncio.run(session())
    update = sessions[0]["session"]
    assert [tool["name"] for tool in update["tools"]] == ["send_text"]
    assert "No person can take this call" in update["instructions"]
    assert heard.app_closed_at is None  # the caller stayed with the agent until they hung up
    assert stream_outcome_take(clinic.sid, call.sid) is None
    pressed = heard.dtmf_sent[0][0]
    words = [at for at, frame in heard.played if frame != b"\xff" * 160]
    assert len(words) * 0.02 > 1.5 and min(words) > pressed  # "Nobody from our team can take calls…"
