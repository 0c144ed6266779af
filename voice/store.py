"""The interpreter's CallStore over voice's call services, for asyncio call tasks (ORM calls run in threads).

Writes that the call does not need an answer from (status changes, errors, callbacks) go to an
ordered per-call queue that one background task drains, so a prompt never waits for the database;
`finish()` drains the queue, so nothing is lost or reordered when the call ends. Timeline events
are noted in memory with their time and ride along with the call's next write, or get a write of
their own `EVENTS_MAX_AGE_SECONDS` after the first: a short call costs three transactions, not eight.
A worker killed mid-call loses at most those seconds of its timeline, never the call's status.
"""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from django.utils import timezone

from core.db import db_work
from core.errors import TwilioError
from voice import call_state, child_calls, recordings, status_callbacks, timeline
from voice.call_setup import CallSetup
from voice.timeline import TimelineEntry

log = logging.getLogger(__name__)
EVENTS_MAX_AGE_SECONDS = 2.0
T = TypeVar("T")


def db(function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """Run a synchronous service from a call task: in a worker thread, as one unit of database work
    (`core.db.db_work`: a broken or long idle connection replaced first). The thread keeps its
    connection for its next unit: the default executor's threads are fewer than the pool's."""

    def unit(*args: Any, **kwargs: Any) -> Any:
        return db_work(partial(function, *args, **kwargs), keep=True)

    return sync_to_async(unit, thread_sensitive=False)


class ServiceCallStore:
    def __init__(self, setup: CallSetup, *, media_server_id: int | None) -> None:
        self.setup = setup
        self.media_server_id = media_server_id
        self._ids = {"account_id": setup.account_id, "call_id": setup.call_id}
        self._writes: asyncio.Queue[Callable[[], Any] | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._entries: list[TimelineEntry] = []
        self._entries_timer: asyncio.TimerHandle | None = None

    def _later(self, function: Callable[..., Any], **kwargs: Any) -> None:
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_in_order())
        self._writes.put_nowait(partial(function, **kwargs))

    async def _write_in_order(self) -> None:
        while (write := await self._writes.get()) is not None:
            try:
                await db(write)()
            except Exception:
                log.exception("writing call %s failed", self.setup.call_sid)

    async def _drain(self) -> None:
        if self._writer is not None:
            self._writes.put_nowait(None)
            await self._writer
            self._writer = None

    def _take_entries(self) -> list[TimelineEntry]:
        if self._entries_timer is not None:
            self._entries_timer.cancel()
            self._entries_timer = None
        entries, self._entries = self._entries, []
        return entries

    def _flush_entries(self) -> None:
        if self._entries:
            self._later(timeline.call_events_add, **self._ids, entries=self._take_entries())

    async def event(self, kind: str, name: str, detail: dict[str, Any]) -> None:
        if not self._entries:
            loop = asyncio.get_running_loop()
            self._entries_timer = loop.call_later(EVENTS_MAX_AGE_SECONDS, self._flush_entries)
        self._entries.append(TimelineEntry(kind, name, detail, timezone.now()))

    async def error(
        self, code: int, message: str, *, url: str = "", method: str = "", warning: bool = False
    ) -> None:
        self._later(
            timeline.call_error,
            **self._ids,
            code=code,
            message=message,
            url=url,
            method=method,
            warning=warning,
            entries=self._take_entries(),
            at=timezone.now(),
        )

    async def answered(self) -> None:
        await self.status("in-progress")

    async def status(self, status: str) -> None:
        self._later(
            call_state.call_status_set,
            **self._ids,
            status=status,
            entries=self._take_entries(),
            at=timezone.now(),
        )

    async def callback(self, url: str, method: str, params: dict[str, str]) -> None:
        self._later(
            status_callbacks.callback_enqueue,
            account_id=self.setup.account_id,
            url=url,
            method=method,
            params=params,
            call_sid=self.setup.call_sid,
        )

    async def write(self, service: Callable[..., T], /, **kwargs: Any) -> T:
        """Run `service` in a worker thread once the writes queued before it are done; its answer."""
        self._flush_entries()
        await self._drain()
        result: T = await db(service)(**kwargs)
        return result

    async def recording(self, audio: bytes, duration_seconds: int, source: str) -> str:
        recording = await self.write(  # its audit entry follows what came before it
            recordings.recording_store,
            **self._ids,
            audio=audio,
            duration_seconds=duration_seconds,
            source=source,
        )
        return str(recording.sid)

    async def child_call(
        self, to: str, from_: str
    ) -> tuple[str, Callable[[str, int | None], Awaitable[None]]] | None:
        """The dial leg's SID and how to finish it; None when the caller ID is refused (logged)."""
        opened_at = timezone.now()
        try:
            child_id: uuid.UUID = await self.write(
                child_calls.child_call_open,
                **self._ids,
                to_number=to,
                from_number=from_,
                media_server_id=self.media_server_id,
                at=opened_at,
            )
        except TwilioError as refused:
            await self.error(refused.twilio_code, f"<Dial> not placed: {refused.message}")
            return None

        async def finish(status: str, answered_seconds: int | None) -> None:
            """End the leg; one answered `answered_seconds` ago is marked answered then, so its
            duration is the time it was bridged."""
            if answered_seconds is not None:
                # Whole seconds, rounded: never before the leg began, or its timeline reads answered
                # before initiated.
                answered_at = max(opened_at, timezone.now() - timedelta(seconds=answered_seconds))
                await db(call_state.call_status_set)(
                    account_id=self.setup.account_id, call_id=child_id, status="in-progress", at=answered_at
                )
            await db(call_state.call_finish)(
                account_id=self.setup.account_id, call_id=child_id, status=status
            )

        return "CA" + child_id.hex, finish

    async def finish(self, status: str | None = None, reason: str = "") -> None:
        await self._drain()
        await db(call_state.call_finish)(
            **self._ids, status=status, reason=reason, entries=self._take_entries()
        )
