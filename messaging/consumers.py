"""Websocket subscriptions of the portal: a bulk alert's live progress (`/ws/bulks/<sid>/`).

A consumer checks who asks, through the session the pages use: a signed-in user, two-factor
verified where the portal requires it, whose current account owns the bulk and whose role may see
bulks. Then it forwards: the counts on connect and whenever the bulk moves (messaging/bulk/events.py,
a few times a second at most). It writes nothing, and closes when the session ends (sign-out, or 15
minutes idle: tenants/sockets.py).
"""

import uuid
from dataclasses import dataclass
from typing import Any

from channels.db import database_sync_to_async
from django.db import transaction

from messaging.bulk.events import bulk_events
from messaging.bulk.selectors import bulk_get, bulk_progress_get
from tenants.roles import BULK_VIEWER_ROLES
from tenants.sockets import FORBIDDEN, SessionSocketConsumer, socket_tenant


@dataclass(frozen=True)
class Subscription:
    account_id: uuid.UUID
    bulk_id: uuid.UUID


def bulk_subscription(scope: dict[str, Any], sid: str) -> Subscription | None:
    """Whether the scope's portal session (signed in: `SessionSocketConsumer.session_join`) may watch
    bulk `sid`, as the portal's pages would decide."""
    with transaction.atomic():
        tenant = socket_tenant(scope, roles=BULK_VIEWER_ROLES)
        bulk = None if tenant is None else bulk_get(account=tenant.account, sid=sid)
        return None if tenant is None or bulk is None else Subscription(tenant.account.id, bulk.id)


class BulkProgressConsumer(SessionSocketConsumer):
    subscription: Subscription | None = None

    async def connect(self) -> None:
        if await self.session_join():
            sid = self.scope["url_route"]["kwargs"]["sid"]
            self.subscription = await database_sync_to_async(bulk_subscription)(self.scope, sid)
        if self.subscription is None:
            await self.close(code=FORBIDDEN)
            return
        await self.accept()
        bulk_events().watch(self.subscription.bulk_id, self.push)
        await self.push()

    async def disconnect(self, code: int) -> None:
        await super().disconnect(code)
        if self.subscription is not None:
            bulk_events().unwatch(self.subscription.bulk_id, self.push)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Clients only listen."""

    async def push(self) -> None:
        """Send the bulk's progress as it is now (see messaging.bulk.selectors.bulk_progress)."""
        if self.subscription is None:
            return
        progress = await database_sync_to_async(bulk_progress_get)(
            account_id=self.subscription.account_id, bulk_id=self.subscription.bulk_id
        )
        if progress is not None:
            await self.send_json(progress)
