"""The routing board's websocket (`/ws/routing/<workspace sid>/`): the board's fragment (board.py),
sent on connect and again whenever it has changed.

A board changes in every process that routes: API requests, the routing process, its timers, calls
and texts entering routing. Rather than a notification from each of those (on the assignment's hot
path), the socket reads the board every REFRESH_SECONDS (a fixed dozen queries, whatever the
workspace's size) and sends it only when it differs from what it last sent. Over a websocket, unlike
a polling page, the view does not renew the portal session: an unattended board still signs out
after 15 minutes idle (tenants/sockets.py). Admission is the pages' rule: signed in, two-factor
verified where required, of a role that may see routing, in the account owning the workspace.
"""

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from django.db import transaction

from contactcenter.taskrouter.board import board_fragment_get
from contactcenter.taskrouter.models import Workspace
from core.consumers import NOT_FOUND
from core.sids import sid_to_uuid
from tenants.roles import ROUTING_MANAGER_ROLES, ROUTING_VIEWER_ROLES
from tenants.sockets import FORBIDDEN, SessionSocketConsumer, socket_tenant

log = logging.getLogger(__name__)

REFRESH_SECONDS = 2.0
FAILED = 1011  # the websocket's "internal error": the page reconnects, with a fresh read


@dataclass(frozen=True)
class Subscription:
    account_id: uuid.UUID
    workspace_id: uuid.UUID
    can_manage: bool


def board_subscription(scope: dict[str, Any], sid: str) -> Subscription | None:
    """Whether the scope's portal session may watch workspace `sid`, as the board's page decides."""
    with transaction.atomic():
        tenant = socket_tenant(scope, roles=ROUTING_VIEWER_ROLES)
        pk = sid_to_uuid(sid, Workspace.SID_PREFIX)
        if tenant is None or pk is None:
            return None
        if not Workspace.objects.for_account(tenant.account).filter(id=pk).exists():
            return None
        role = tenant.membership.role if tenant.membership else None
        return Subscription(tenant.account.id, pk, role in ROUTING_MANAGER_ROLES)


class RoutingBoardConsumer(SessionSocketConsumer):
    subscription: Subscription | None = None
    refresher: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        if await self.session_join():
            sid = self.scope["url_route"]["kwargs"]["sid"]
            self.subscription = await database_sync_to_async(board_subscription)(self.scope, sid)
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
        """Clients only listen; changes are made through the pages."""

    async def _refresh(self, subscription: Subscription) -> None:
        """Send the board when it changed, with the server's clock (the page's durations tick from it)."""
        sent = None
        try:
            while True:
                fragment = await database_sync_to_async(board_fragment_get)(
                    account_id=subscription.account_id,
                    workspace_id=subscription.workspace_id,
                    can_manage=subscription.can_manage,
                )
                if fragment is None:  # the workspace was deleted
                    await self.close(code=NOT_FOUND)
                    return
                if fragment != sent:
                    await self.send_json({"board": fragment, "now": time.time()})
                    sent = fragment
                await asyncio.sleep(REFRESH_SECONDS)
        except asyncio.CancelledError:
            raise
        except Exception:  # a lost database, say: the page reconnects rather than show a stale board
            log.exception("routing board of workspace %s failed", subscription.workspace_id)
            await self.close(code=FAILED)
