"""A portal page's live part (`LiveFragmentConsumer`): a fragment of HTML sent over the page's
websocket on connect and again whenever it has changed, shown by `portal/live_fragment.js`.

A fragment can change in every process that writes what it shows (API requests, the routing process,
the ARI worker). The socket reads the fragment every `refresh_seconds` and sends it only when it
differs from what it last sent, so a fragment states times as instants (`data-since`), never as
ages, and the browser ticks them. A consumer may also name a channel-layer group (`group`) that
writers tell, once they commit, that the fragment changed (`fragment_changed`): the socket then
reads it again SETTLE_SECONDS later (a burst of changes is one read). The committing thread only
notes the group; one thread per process sends the notes, each group at most every
ANNOUNCE_GAP_SECONDS (a change inside the gap is announced at its end, never dropped), so a hot path
such as a routing pass never waits on the channel layer. Over a websocket, unlike a page polling
with htmx, nothing renews the portal session: an unattended page still signs out after
SESSION_COOKIE_AGE idle (sockets.py).
"""

import asyncio
import logging
import threading
import time
from typing import Any, Generic, TypeVar

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from core.consumers import NOT_FOUND
from core.timeouts import within
from tenants.sockets import FORBIDDEN, SessionSocketConsumer

log = logging.getLogger(__name__)

FAILED = 1011  # the websocket's "internal error": the page reconnects, with a fresh read
ANNOUNCE_GAP_SECONDS = 0.2
SETTLE_SECONDS = 0.1
CHANGED_EVENT = "fragment.changed"


class _Announcer(threading.Thread):
    """The process's sender of change announcements, off the threads that commit the changes."""

    def __init__(self) -> None:
        super().__init__(name="fragment-announcer", daemon=True)
        self.wake = threading.Condition()
        self.due: dict[str, float] = {}  # group → when its announcement may go
        self.sent: dict[str, float] = {}  # group → when its last one went

    def announce(self, group: str) -> None:
        with self.wake:
            if group not in self.due:
                self.due[group] = max(time.monotonic(), self.sent.get(group, 0.0) + ANNOUNCE_GAP_SECONDS)
                self.wake.notify()

    def _next(self) -> str:
        with self.wake:
            while True:
                group, at = min(self.due.items(), key=lambda item: item[1], default=("", 0.0))
                wait = at - time.monotonic() if group else None
                if wait is not None and wait <= 0:
                    del self.due[group]
                    self.sent[group] = time.monotonic()
                    return group
                self.wake.wait(wait)

    def run(self) -> None:
        layer = get_channel_layer()
        assert layer is not None, "CHANNEL_LAYERS is configured in settings"
        loop = asyncio.new_event_loop()  # this thread's own: the layer keeps its connections per loop
        while True:
            group = self._next()
            try:
                loop.run_until_complete(layer.group_send(group, {"type": CHANGED_EVENT}))
            except Exception:  # the broker away: the sockets' own refresh still comes
                log.exception("announcing a change to %s failed", group)


_announcer: _Announcer | None = None
_announcer_lock = threading.Lock()


def fragment_changed(group: str) -> None:
    """Tell the sockets showing `group`'s fragment that it changed; call it once the change has
    committed. Returns at once: the process's announcer thread sends it (started on first use, and
    again in a process forked from one that had it)."""
    global _announcer
    with _announcer_lock:
        if _announcer is None or not _announcer.is_alive():
            _announcer = _Announcer()
            _announcer.start()
        announcer = _announcer
    announcer.announce(group)


Subscription = TypeVar("Subscription")


class LiveFragmentConsumer(SessionSocketConsumer, Generic[Subscription]):
    """Subclasses say who may watch (`subscribe`) and what they see (`fragment`); both run in a
    database thread. Clients only listen: changes are made through the pages."""

    refresh_seconds = 2.0
    subscription: Subscription | None = None
    refresher: asyncio.Task[None] | None = None
    changes_group: str | None = None
    changed: asyncio.Event

    def group(self, subscription: Subscription) -> str | None:
        """The channel-layer group told when the fragment changes (`fragment_changed`); None when
        the socket only reads every `refresh_seconds`."""
        return None

    def subscribe(self, scope: dict[str, Any]) -> Subscription | None:
        """What the scope's portal session may watch at this path, as the page decides; None refuses it."""
        raise NotImplementedError

    def fragment(self, subscription: Subscription) -> str | None:
        """The fragment now; None once what it shows is gone (the socket closes with NOT_FOUND)."""
        raise NotImplementedError

    async def connect(self) -> None:
        if await self.session_join():
            self.subscription = await database_sync_to_async(self.subscribe)(self.scope)
        if self.subscription is None:
            await self.close(code=FORBIDDEN)
            return
        await self.accept()
        self.changed = asyncio.Event()
        self.changes_group = self.group(self.subscription)
        if self.changes_group is not None:
            await self.channel_layer.group_add(self.changes_group, self.channel_name)
        self.refresher = asyncio.create_task(self._refresh(self.subscription))

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        if self.changes_group is not None:
            await self.channel_layer.group_discard(self.changes_group, self.channel_name)
        if self.refresher is not None:
            self.refresher.cancel()

    async def fragment_changed(self, event: dict[str, Any]) -> None:
        self.changed.set()

    async def _next_read(self) -> None:
        """Until the next refresh, or SETTLE_SECONDS after a change is announced if one is first."""
        try:
            await within(self.changed.wait(), self.refresh_seconds)
        except TimeoutError:
            return
        self.changed.clear()
        await asyncio.sleep(SETTLE_SECONDS)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Clients only listen."""

    async def _refresh(self, subscription: Subscription) -> None:
        """Send the fragment when it changed, with the server's clock (the page's durations tick from it)."""
        sent = None
        try:
            while True:
                fragment = await database_sync_to_async(self.fragment)(subscription)
                if fragment is None:
                    await self.close(code=NOT_FOUND)
                    return
                if fragment != sent:
                    await self.send_json({"fragment": fragment, "now": time.time()})
                    sent = fragment
                await self._next_read()
        except asyncio.CancelledError:
            raise
        except Exception:  # a lost database, say: the page reconnects rather than show a stale fragment
            log.exception("%s for %s failed", type(self).__name__, subscription)
            await self.close(code=FAILED)
