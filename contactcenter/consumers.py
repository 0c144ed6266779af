"""The contact center's portal websockets. The Queues page's (`/ws/queues/`): the account's queues
and callers in line (queue_board.py) kept live (tenants/live_fragments.py). The agent console's
(`/ws/console/`): the worker's state pushed as it changes. Admission is each page's rule: signed
in, two-factor verified where required, of a role allowed there; the account is the session's.
"""

import asyncio
import logging
import time
import uuid
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction

from contactcenter.console_live import (
    PRESENCE_REFRESH_SECONDS,
    console_presence_clear,
    console_presence_mark,
    worker_group,
)
from contactcenter.console_sessions import (
    ConsoleSubscription,
    console_draft_save,
    console_state_get,
    console_subscription,
)
from contactcenter.queue_board import queues_fragment_get
from contactcenter.tasks import console_closed_check_task
from core.consumers import NOT_FOUND
from tenants.live_fragments import FAILED, LiveFragmentConsumer
from tenants.roles import QUEUE_VIEWER_ROLES
from tenants.sockets import FORBIDDEN, SessionSocketConsumer, socket_tenant

log = logging.getLogger(__name__)


class QueuesConsumer(LiveFragmentConsumer[uuid.UUID]):
    def subscribe(self, scope: dict[str, Any]) -> uuid.UUID | None:
        """The session's current account, when the Queues page would admit its user."""
        with transaction.atomic():
            tenant = socket_tenant(scope, roles=QUEUE_VIEWER_ROLES)
            return tenant.account.id if tenant is not None else None

    def fragment(self, subscription: uuid.UUID) -> str | None:
        return queues_fragment_get(account_id=subscription)


class ConsoleConsumer(SessionSocketConsumer):
    """The agent console's websocket (`/ws/console/`; its messages are in docs/console.md). It sends
    the console's state on connect and after every change the engine pushes (console_live.py),
    coalescing a burst into one read; a `ring` is forwarded as it arrives, before that read. The
    newest console of a worker is the active one (it holds the softphone); older ones are told they
    are `superseded` until they ask to be active again. The browser only saves its wrap-up draft
    here; every action is a POST to the console's pages. The last console to close queues the
    offline check, run after the grace period."""

    subscription: ConsoleSubscription | None = None
    is_active = False
    refresher: asyncio.Task[None] | None = None
    heartbeat: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        if await self.session_join():
            self.subscription = await database_sync_to_async(console_subscription)(self.scope)
        if self.subscription is None:
            await self.close(code=FORBIDDEN)
            return
        group = worker_group(self.subscription.worker_id)
        self.groups.append(group)
        await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        self.dirty = asyncio.Event()
        self.refresher = asyncio.create_task(self._refresh(self.subscription))
        self.heartbeat = asyncio.create_task(self._beat(self.subscription))
        await self._activate()

    async def _activate(self) -> None:
        self.is_active = True
        await self.channel_layer.group_send(
            worker_group(self.subscription.worker_id),  # type: ignore[union-attr]
            {"type": "console.superseded", "channel": self.channel_name},
        )
        self.dirty.set()

    async def _beat(self, subscription: ConsoleSubscription) -> None:
        mark = sync_to_async(console_presence_mark)
        while True:
            await mark(worker_id=subscription.worker_id, channel_name=self.channel_name)
            await asyncio.sleep(PRESENCE_REFRESH_SECONDS)

    async def _refresh(self, subscription: ConsoleSubscription) -> None:
        """Send the state each time something changed, one read for a burst of changes."""
        try:
            while True:
                await self.dirty.wait()
                self.dirty.clear()
                state = await database_sync_to_async(console_state_get)(subscription)
                if state is None:
                    await self.close(code=NOT_FOUND)
                    return
                await self.send_json({**state, "active": self.is_active, "now": time.time()})
        except asyncio.CancelledError:
            raise
        except Exception:  # a lost database: the page reconnects and reads again
            log.exception("console state for %s failed", subscription)
            await self.close(code=FAILED)

    async def console_ring(self, event: dict[str, Any]) -> None:
        """An offer made just now: ring first, then show it with its screen pop."""
        await self.send_json({**event, "type": "ring", "now": time.time()})
        self.dirty.set()

    async def console_changed(self, event: dict[str, Any]) -> None:
        self.dirty.set()

    async def console_superseded(self, event: dict[str, Any]) -> None:
        if event["channel"] != self.channel_name and self.is_active:
            self.is_active = False
            await self.send_json({"type": "superseded", "now": time.time()})

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """`activate` (this console takes over from the others) and `draft` (the wrap-up form as
        typed, kept for every console of the worker and for a reconnect)."""
        if not isinstance(content, dict) or self.subscription is None:
            return
        if content.get("type") == "activate":
            await self._activate()
        elif content.get("type") == "draft":
            saved = await database_sync_to_async(console_draft_save)(
                self.subscription, str(content.get("reservation_sid", "")), content
            )
            if saved:
                await self.channel_layer.group_send(
                    worker_group(self.subscription.worker_id), {"type": "console.changed"}
                )

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        for running in (self.refresher, self.heartbeat):
            if running is not None:
                running.cancel()
        if self.subscription is not None:
            subscription = self.subscription
            await sync_to_async(console_presence_clear)(
                worker_id=subscription.worker_id, channel_name=self.channel_name
            )
            await sync_to_async(console_closed_check_task.apply_async)(
                args=[str(subscription.account_id), str(subscription.worker_id)],
                countdown=settings.CONSOLE_OFFLINE_GRACE_SECONDS,
            )
