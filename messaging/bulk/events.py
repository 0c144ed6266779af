"""Which bulk alerts moved, for the portal's live progress (messaging/consumers.py).

The counting trigger of the bulk migration NOTIFYs `switchboard_bulk` with a bulk's id when a
transaction that moved its messages commits: PostgreSQL delivers it after commit, once per bulk and
transaction, never for a rollback, to every process listening. Each ASGI process (each event loop)
keeps one LISTEN connection while it has watchers and calls the watchers of a bulk that moved, at
most `UPDATES_PER_SECOND` times a second per bulk: the first change at once, later ones when the
interval ends, so the last change is always passed on. A watcher reads the counts itself, in its
tenant's scope. After a lost connection every watcher is called once, since changes may have been
missed meanwhile.

No channel layer: every process hears every NOTIFY, so a group message sent from each would reach
a watcher once per process.
"""

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Coroutine
from typing import Any

import psycopg
from django.conf import settings

log = logging.getLogger(__name__)

CHANNEL = "switchboard_bulk"
UPDATES_PER_SECOND = 4
IDLE_CHECK_SECONDS = 30.0  # with no notification for this long, check the connection is alive
RECONNECT_SECONDS = (0.5, 10.0)  # first and longest pause between attempts

Watcher = Callable[[], Coroutine[Any, Any, None]]


class BulkEvents:
    """The watchers of one event loop, and its LISTEN connection."""

    def __init__(self) -> None:
        self.watchers: dict[uuid.UUID, set[Watcher]] = defaultdict(set)
        self.listener: asyncio.Task[None] | None = None
        self.last_sent: dict[uuid.UUID, float] = {}
        self.delayed: set[uuid.UUID] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.listening = asyncio.Event()  # set while LISTEN is in effect (tests wait for it)

    def watch(self, bulk_id: uuid.UUID, watcher: Watcher) -> None:
        self.watchers[bulk_id].add(watcher)
        if self.listener is None or self.listener.done():
            self.listener = asyncio.get_running_loop().create_task(self._listen())

    def unwatch(self, bulk_id: uuid.UUID, watcher: Watcher) -> None:
        self.watchers[bulk_id].discard(watcher)
        if not self.watchers[bulk_id]:
            del self.watchers[bulk_id]
            self.last_sent.pop(bulk_id, None)
        if not self.watchers and self.listener is not None:
            self.listener.cancel()
            self.listener = None
            self.listening.clear()

    async def _listen(self) -> None:
        pause = RECONNECT_SECONDS[0]
        conninfo = settings.DATABASE_ROLES.url_for(settings.DATABASE_ROLES.app)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    pause = RECONNECT_SECONDS[0]
                    for bulk_id in list(self.watchers):  # changes may have been missed meanwhile
                        self.changed(bulk_id)
                    while True:
                        async for notice in connection.notifies(timeout=IDLE_CHECK_SECONDS):
                            self._notified(notice.payload)
                        await connection.execute("SELECT 1")
            except (psycopg.Error, OSError) as exc:
                self.listening.clear()
                log.warning("bulk progress listener lost its connection (%s); retrying in %.1f s", exc, pause)
            except Exception:  # a bug must not leave every watcher without updates for good
                self.listening.clear()
                log.exception("bulk progress listener failed; retrying in %.1f s", pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, RECONNECT_SECONDS[1])

    def _notified(self, payload: str) -> None:
        try:
            bulk_id = uuid.UUID(payload)
        except ValueError:
            return
        self.changed(bulk_id)

    def changed(self, bulk_id: uuid.UUID) -> None:
        """Call the bulk's watchers now, or when its interval ends if they were called less than
        1/UPDATES_PER_SECOND ago (once, however many changes come meanwhile)."""
        if bulk_id not in self.watchers or bulk_id in self.delayed:
            return
        loop = asyncio.get_running_loop()
        wait = self.last_sent.get(bulk_id, -1e9) + 1 / UPDATES_PER_SECOND - loop.time()
        if wait <= 0:
            self._send(bulk_id)
        else:
            self.delayed.add(bulk_id)
            loop.call_later(wait, self._send_delayed, bulk_id)

    def _send_delayed(self, bulk_id: uuid.UUID) -> None:
        self.delayed.discard(bulk_id)
        if bulk_id in self.watchers:
            self._send(bulk_id)

    def _send(self, bulk_id: uuid.UUID) -> None:
        loop = asyncio.get_running_loop()
        self.last_sent[bulk_id] = loop.time()
        for watcher in list(self.watchers[bulk_id]):
            task = loop.create_task(watcher())
            self.tasks.add(task)  # keep a reference until it is done
            task.add_done_callback(self.tasks.discard)


_per_loop: dict[asyncio.AbstractEventLoop, BulkEvents] = {}


def bulk_events() -> BulkEvents:
    """The running event loop's watchers (one loop per ASGI process; tests may run several)."""
    loop = asyncio.get_running_loop()
    for old in [other for other in _per_loop if other.is_closed()]:
        del _per_loop[old]
    if loop not in _per_loop:
        _per_loop[loop] = BulkEvents()
    return _per_loop[loop]
