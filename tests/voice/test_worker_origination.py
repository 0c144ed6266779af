"""The ARI worker's origination of an outbound call, on a worker whose ARI client and database are
stubbed: a cancel that comes while the channel is being made ends it, and a duplicate delivery
touches nothing. (tests/voice/test_call_flows.py places real calls through Asterisk.)"""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from mediaserver.ari.client import AriError
from voice import control_channel, verbs
from voice import worker as worker_module
from voice.call_setup import CallSetup
from voice.models import MediaServer
from voice.worker import VoiceWorker

ACCOUNT_ID = uuid.uuid4()
CALL_ID = uuid.uuid4()
SID = f"CA{CALL_ID.hex}"
SETUP = CallSetup(
    account_id=ACCOUNT_ID,
    call_id=CALL_ID,
    call_sid=SID,
    account_sid="AC1",
    auth_token="t",
    from_number="+12025550100",
    to_number="+14155550123",
    direction="outbound-api",
    url="https://clinic.example/voice",
    method="POST",
    fallback_url="",
    fallback_method="POST",
    twiml="",
)


class Ari:
    """ARI as the worker sees it: each request recorded, channels/create answered by `create` and
    followed by the channel's StasisStart."""

    def __init__(self, create: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        self.create = create
        self.requests: list[tuple[str, str]] = []
        self.endpoints: list[str] = []  # what each channels/create dialled
        self.events: Callable[[dict[str, Any]], None] = lambda event: None

    async def request(self, method: str, path: str, **options: Any) -> Any:
        self.requests.append((method, path))
        if path == "/channels/create":
            self.endpoints.append(options["params"]["endpoint"])
            channel = await self.create()
            asyncio.get_running_loop().call_soon(self.events, {"type": "StasisStart", "channel": channel})
            return channel
        if method == "DELETE" and ("POST", "/channels/create") not in self.requests[:-1]:
            return None  # 404, which hangup ignores: the channel does not exist yet
        return {}


def _worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ari: Ari) -> tuple[VoiceWorker, list[str]]:
    server = MediaServer(name="x", ari_url="http://127.0.0.1:9/ari", ari_username="u", trunk_uri="sip:t")
    server.sounds_dir = str(tmp_path)
    server.set_ari_password("p")
    worker = VoiceWorker(server, app="switchboard-x")
    worker.client.request = ari.request  # type: ignore[method-assign]
    ari.events = worker.router.route
    failures: list[str] = []

    def db(function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
        async def call(**kwargs: Any) -> Any:
            return function(**kwargs)

        return call

    def call_originate_failed(*, account_id: uuid.UUID, call_id: uuid.UUID, message: str) -> None:
        failures.append(message)

    monkeypatch.setattr(worker_module, "_db", db)
    monkeypatch.setattr(worker_module.origination, "outbound_call_setup", lambda **_: SETUP)
    monkeypatch.setattr(worker_module.origination, "call_originate_failed", call_originate_failed)
    return worker, failures


async def _originate(worker: VoiceWorker, then: Callable[[], Awaitable[None]] | None = None) -> None:
    worker._originate(
        control_channel.Originate(action="originate", call_sid=SID, account_id=str(ACCOUNT_ID), timeout=30)
    )
    if then is not None:
        await then()
    _, still_running = await asyncio.wait(worker.tasks, timeout=2)  # e.g. waiting for the dial's answer
    for task in still_running:
        task.cancel()
    await asyncio.gather(*still_running, return_exceptions=True)
    await worker.http.aclose()


def test_a_hangup_that_comes_before_the_channel_exists_ends_its_origination(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = asyncio.Event()
    ari = Ari(lambda: _after(created))
    worker, _ = _worker(tmp_path, monkeypatch, ari)

    async def cancel() -> None:
        await asyncio.sleep(0.05)  # the task is waiting for channels/create
        await worker._apply_control(control_channel.Hangup(action="hangup", call_sid=SID, channel_id=SID))
        created.set()

    asyncio.run(_originate(worker, cancel))
    assert ("POST", f"/channels/{SID}/dial") not in ari.requests
    assert ari.requests[-1] == ("DELETE", f"/channels/{SID}")  # the channel it made, hung up


async def _after(event: asyncio.Event) -> dict[str, Any]:
    await event.wait()
    return {"id": SID}


@pytest.mark.parametrize(
    ("status", "message", "failures"),
    [
        # A duplicate delivery: the call is running already, and is left alone.
        (409, "Channel with given unique ID already exists", []),
        (500, "Allocation failed", ["Could not originate the call: ARI 500: Allocation failed"]),
    ],
)
def test_a_refused_channel_is_not_hung_up_and_only_a_new_call_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, status: int, message: str, failures: list[str]
) -> None:
    ari = Ari(_refused(status, message))
    worker, failed = _worker(tmp_path, monkeypatch, ari)
    asyncio.run(_originate(worker))
    assert ari.requests == [("POST", "/channels/create")] and failed == failures


def _refused(status: int, message: str) -> Callable[[], Awaitable[dict[str, Any]]]:
    async def create() -> dict[str, Any]:
        raise AriError(status, message)

    return create


@pytest.mark.parametrize(
    ("endpoint", "failures"),
    [("PJSIP/WK1", []), (None, ["client:WK1 is no client of this account"])],
)
def test_an_outbound_call_to_a_client_rings_its_softphone_or_fails_when_it_is_none_of_the_accounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, endpoint: str | None, failures: list[str]
) -> None:
    """A `call` instruction to `client:WK…` (contactcenter/softphone.py resolves it for the account)."""
    ari = Ari(_created)
    worker, failed = _worker(tmp_path, monkeypatch, ari)
    monkeypatch.setattr(
        worker_module.origination, "outbound_call_setup", lambda **_: replace(SETUP, to_number="client:WK1")
    )
    asked: list[tuple[uuid.UUID, str]] = []

    def client_endpoint(*, account_id: uuid.UUID, address: str) -> str | None:
        asked.append((account_id, address))
        return endpoint

    monkeypatch.setattr(verbs, "client_endpoint", client_endpoint)
    asyncio.run(_originate(worker))
    assert asked == [(ACCOUNT_ID, "client:WK1")] and failed == failures
    assert ari.endpoints == ([endpoint] if endpoint else [])


def test_an_outbound_call_to_what_is_no_number_is_never_dialled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `call` instruction's `to` (a worker's contact_uri, any text) went into the trunk's dial string
    as a number: `x@127.0.0.1:5091?X-A=` made `sip:x@127.0.0.1:5091?X-A=@<trunk>`."""
    ari = Ari(_created)
    worker, failed = _worker(tmp_path, monkeypatch, ari)
    to = "x@127.0.0.1:5091?X-A="
    monkeypatch.setattr(
        worker_module.origination, "outbound_call_setup", lambda **_: replace(SETUP, to_number=to)
    )
    asyncio.run(_originate(worker))
    assert ari.endpoints == [] and len(failed) == 1 and "is not a phone number" in failed[0]


async def _created() -> dict[str, Any]:
    return {"id": SID}
