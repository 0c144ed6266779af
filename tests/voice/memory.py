"""An in-memory CallControl and CallStore, so the interpreter's flow logic runs without Asterisk.

The control answers every request at once and keeps what it was asked; the store keeps the errors,
events and callbacks the interpreter reports. The media cache is the real one (espeak-ng, sox).
"""

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from django.db import connections

from core import egress
from core.documents import Fetch
from core.tenancy import tenant_scope
from tests.conftest import make_tenant
from tests.voice.twiml_app import TwimlApp, twiml
from twiml.errors import Code
from voice.call_setup import CallSetup
from voice.control import DialOutcome, DigitsOutcome, MediaLeg, MediaUnreachable, RecordOutcome
from voice.interpreter import Interpreter
from voice.media import MediaCache
from voice.models import Call

T = TypeVar("T")


@dataclass
class MemoryControl:
    """A call that answers every request at once: with the digits, recording and dial outcome a test
    scripts, or with nothing (no digits, no audio, every Dial answered and completed)."""

    is_answered: bool = False
    digits: list[DigitsOutcome] = field(default_factory=list)  # one per Gather, in order
    recorded: RecordOutcome | None = None
    dial_outcome: DialOutcome | None = None  # its leg_channel_id is replaced by the leg's SID
    actions: list[str] = field(default_factory=list)
    dialled: list[dict[str, Any]] = field(default_factory=list)
    played: list[str] = field(default_factory=list)
    hung_up: bool = False
    # <Connect><Stream>: the digits the caller presses while connected (each to `on_digit`)
    connect_digits: str = ""
    media_legs: list[MediaLeg] = field(default_factory=list)
    media_hung_up: list[str] = field(default_factory=list)
    fork_ends: list[Callable[[], Awaitable[None]]] = field(default_factory=list)  # a fork's `on_end`
    unreachable: set[str] = field(default_factory=set)  # media legs' hosts it cannot connect to

    async def answer(self) -> None:
        if not self.is_answered:
            self.actions.append("answer")
        self.is_answered = True

    async def hangup(self) -> None:
        self.actions.append("hangup")
        self.hung_up = True

    async def reject(self, reason: str) -> None:
        self.actions.append(f"reject {reason}")
        self.hung_up = True

    async def play(self, media: Sequence[str], *, interruptible: bool) -> str:
        self.actions.append("play")
        self.played += media
        return ""

    async def collect_digits(
        self, *, first: str, num_digits: int | None, timeout: float, finish_on_key: str
    ) -> DigitsOutcome:
        self.actions.append("gather")
        return self.digits.pop(0) if self.digits else DigitsOutcome("", "")

    async def pause(self, seconds: float) -> None:
        self.actions.append(f"pause {seconds:g}")

    async def record(
        self, *, name: str, max_length: int, silence_timeout: int, finish_on_key: str, play_beep: bool
    ) -> RecordOutcome:
        self.actions.append("record")
        return self.recorded or RecordOutcome(name, 0, b"", "timeout")

    async def send_digits(self, digits: str) -> None:
        self.actions.append(f"send {digits}")

    async def bridge_open(self, bridge_id: str) -> None:
        self.actions.append(f"bridge {bridge_id}")

    async def bridge_join(self, bridge_id: str) -> bool:
        self.actions.append(f"join {bridge_id}")
        return True

    async def bridged(self, bridge_id: str) -> None:
        self.actions.append(f"bridged {bridge_id}")

    async def bridge_close(self, bridge_id: str) -> None:
        self.actions.append(f"close {bridge_id}")

    async def media_connect(self, leg: MediaLeg, *, on_digit: Callable[[str], Awaitable[None]]) -> None:
        """Connected until the app lets go, at once, after the scripted digits."""
        self._reach([leg])
        self.actions.append("connect")
        self.media_legs.append(leg)
        for digit in self.connect_digits:
            await on_digit(digit)

    async def media_fork(self, legs: Sequence[MediaLeg], *, on_end: Callable[[], Awaitable[None]]) -> None:
        self._reach(legs)
        self.actions.append("fork " + ",".join(leg.spy for leg in legs))
        self.media_legs += legs
        self.fork_ends.append(on_end)

    def _reach(self, legs: Sequence[MediaLeg]) -> None:
        if unreachable := [leg.external_host for leg in legs if leg.external_host in self.unreachable]:
            raise MediaUnreachable(unreachable[0])

    async def media_hangup(self, connection_ids: Sequence[str]) -> None:
        self.media_hung_up += connection_ids

    async def dial(self, **request: Any) -> DialOutcome:
        self.actions.append("dial")
        self.dialled.append(request)
        outcome = self.dial_outcome or DialOutcome("completed", 1, "", caller_hung_up=False)
        return replace(outcome, leg_channel_id=request["leg_id"])


@dataclass
class MemoryStore:
    owned_numbers: set[str] = field(default_factory=set)
    errors: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[int] = field(default_factory=list)  # the codes of `errors` logged as warnings
    recordings: list[str] = field(default_factory=list)  # each one's source
    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    callbacks: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    async def event(self, kind: str, name: str, detail: dict[str, Any]) -> None:
        self.events.append((kind, name, detail))

    async def error(
        self, code: int, message: str, *, url: str = "", method: str = "", warning: bool = False
    ) -> None:
        self.errors.append((code, message))
        if warning:
            self.warnings.append(code)

    async def answered(self) -> None:
        pass

    async def recording(self, audio: bytes, duration_seconds: int, source: str) -> str:
        self.recordings.append(source)
        return "RE" + uuid.uuid4().hex

    async def child_call(
        self, to: str, from_: str
    ) -> tuple[str, Callable[[str, int | None], Awaitable[None]]] | None:
        if from_ not in self.owned_numbers:
            await self.error(Code.DIAL_CALLER_ID, f"<Dial> not placed: callerId {from_}")
            return None

        async def finish(status: str, answered_seconds: int | None) -> None:
            pass

        return "CA" + uuid.uuid4().hex, finish

    async def callback(self, url: str, method: str, params: dict[str, str]) -> None:
        self.callbacks.append((url, params))

    async def write(self, service: Callable[..., T], /, **kwargs: Any) -> T:
        return service(**kwargs)


def call_in_progress(tenant_name: str) -> Call:
    """A new tenant's answered inbound call, for a run that writes rows of its own (a stream, a relay
    session) against it."""
    tenant = make_tenant(tenant_name)
    with tenant_scope(tenant.account.id):
        return Call.objects.create(
            account=tenant.account,
            direction=Call.Direction.INBOUND,
            from_number="+14155550100",
            to_number="+12025550100",
            status=Call.Status.IN_PROGRESS,
            channel_id="CA" + uuid.uuid4().hex,
        )


def call_setup(url: str, *, from_number: str = "+14155550100", to_number: str = "+12025550100") -> CallSetup:
    return CallSetup(
        account_id=uuid.uuid4(),
        call_id=uuid.uuid4(),
        call_sid="CA" + uuid.uuid4().hex,
        account_sid="AC" + uuid.uuid4().hex,
        auth_token="token",
        from_number=from_number,
        to_number=to_number,
        direction="inbound",
        url=url,
        method="POST",
        fallback_url="",
        fallback_method="POST",
        twiml="",
    )


def run_call(
    setup: CallSetup,
    sounds: Path,
    store: MemoryStore,
    control: MemoryControl | None = None,
    first: Fetch | None = None,
) -> MemoryControl:
    """Run `setup`'s TwiML (or `first`'s) to its end, fetching through the destination policy as the
    worker does."""
    control = control or MemoryControl()

    async def run() -> None:
        inherited = [c for c in connections.all(initialized_only=True) if c.connection is not None]
        try:
            async with egress.async_client(timeout=5) as http:
                media = MediaCache(str(sounds), http)
                await Interpreter(setup, control, media, http, store, trunk_host="trunk.invalid").run(first)
        finally:
            # The store's writes ran on connections this loop opened (Django keeps them per async
            # context); back to the pool with them, or each call run holds one for good. Those it
            # inherited are its caller's.
            for connection in connections.all(initialized_only=True):
                if connection.connection is not None and connection not in inherited:
                    connection.close()

    asyncio.run(run())
    return control


def run_routes(
    app: TwimlApp,
    sounds: Path,
    routes: dict[str, str],
    *,
    control: MemoryControl | None = None,
    store: MemoryStore | None = None,
    **setup: Any,
) -> tuple[MemoryControl, MemoryStore]:
    """Serve each path's TwiML from `app` and run a call from its /voice (`setup` changes the call)."""
    for path, document in routes.items():
        app.routes[path] = twiml(document)
    store = store or MemoryStore(owned_numbers={"+12025550100"})
    call = replace(call_setup(app.url + "/voice"), **setup)
    return run_call(call, sounds, store, control), store


def run_stored_call(
    app: TwimlApp,
    sounds: Path,
    call: Call,
    routes: dict[str, str],
    control: MemoryControl | None = None,
    **setup: Any,
) -> tuple[MemoryControl, MemoryStore]:
    """`run_routes` as `call`, a row the database holds (see `call_in_progress`): its account's and
    its own ids and SIDs, so what the verbs write lands on it."""
    return run_routes(
        app,
        sounds,
        routes,
        control=control,
        account_id=call.account_id,
        call_id=call.id,
        call_sid=call.sid,
        account_sid="AC" + call.account_id.hex,
        **setup,
    )
