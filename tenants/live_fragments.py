"""A portal page's live part (`LiveFragmentConsumer`): a fragment of HTML sent over the page's
websocket on connect and again whenever it has changed, shown by `portal/live_fragment.js`.

A fragment can change in every process that writes what it shows (API requests, the routing process,
the ARI worker). Rather than a notification from each of those, on their hot paths, the socket reads
the fragment every `refresh_seconds` and sends it only when it differs from what it last sent, so a
fragment states times as instants (`data-since`), never as ages, and the browser ticks them. Over a
websocket, unlike a page polling with htmx, nothing renews the portal session: an unattended page
still signs out after SESSION_COOKIE_AGE idle (sockets.py).
"""

import asyncio
import logging
import time
from typing import Any, Generic, TypeVar

from channels.db import database_sync_to_async

from core.consumers import NOT_FOUND
from tenants.sockets import FORBIDDEN, SessionSocketConsumer

log = logging.getLogger(__name__)

FAILED = 1011  # the websocket's "internal error": the page reconnects, with a fresh read

Subscription = TypeVar("Subscription")


class LiveFragmentConsumer(SessionSocketConsumer, Generic[Subscription]):
    """Subclasses say who may watch (`subscribe`) and what they see (`fragment`); both run in a
    database thread. Clients only listen: changes are made through the pages."""

    refresh_seconds = 2.0
    subscription: Subscription | None = None
    refresher: asyncio.Task[None] | None = None

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
        self.refresher = asyncio.create_task(self._refresh(self.subscription))

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        if self.refresher is not None:
            self.refresher.cancel()

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
                await asyncio.sleep(self.refresh_seconds)
        except asyncio.CancelledError:
            raise
        except Exception:  # a lost database, say: the page reconnects rather than show a stale fragment
            log.exception("%s for %s failed", type(self).__name__, subscription)
            await self.close(code=FAILED)
