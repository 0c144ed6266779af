"""Websocket subscriptions of the portal: a bulk alert's live progress (`/ws/bulks/<sid>/`).

A consumer checks who asks, through the session the pages use: a signed-in user, two-factor
verified where the portal requires it, whose current account owns the bulk and whose role may see
bulks. Then it forwards: the counts on connect and whenever the bulk moves (messaging/bulk/events.py,
a few times a second at most). It writes nothing, and closes when the session ends (sign-out, or 15
minutes idle: tenants/sockets.py).
"""

import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from channels.db import database_sync_to_async
from django.db import transaction
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from messaging.bulk.events import bulk_events
from messaging.bulk.selectors import bulk_get, bulk_progress_get
from messaging.bulk.views import BULK_VIEWER_ROLES
from tenants.authentication import portal_context
from tenants.portal import needs_two_factor
from tenants.sockets import FORBIDDEN, SessionSocketConsumer


@dataclass(frozen=True)
class Subscription:
    account_id: uuid.UUID
    bulk_id: uuid.UUID


def _is_verified(user: Any, session: Any) -> bool:
    """What django_otp's middleware decides for a page: the session's device is the user's, confirmed."""
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    device = Device.from_persistent_id(persistent_id, for_verify=True) if persistent_id else None
    return device is not None and device.user_id == user.pk and device.confirmed


def bulk_subscription(scope: dict[str, Any], sid: str) -> Subscription | None:
    """Whether the scope's portal session (signed in: `SessionSocketConsumer.session_join`) may watch
    bulk `sid`, as the portal's pages would decide."""
    user, session = scope["user"], scope["session"]
    with transaction.atomic():
        tenant = portal_context(SimpleNamespace(user=user, session=session))  # type: ignore[arg-type]
        if tenant is None or tenant.membership is None or tenant.membership.role not in BULK_VIEWER_ROLES:
            return None
        if needs_two_factor(SimpleNamespace(tenant=tenant, user=user)) and not _is_verified(user, session):  # type: ignore[arg-type]
            return None
        bulk = bulk_get(account=tenant.account, sid=sid)
        return None if bulk is None else Subscription(tenant.account.id, bulk.id)


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
