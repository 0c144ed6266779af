"""Websocket subscriptions of the portal: a bulk alert's live progress (`/ws/bulks/<sid>/`).

A consumer checks who asks, through the session the pages use: a signed-in user, two-factor
verified where the portal requires it, whose current account owns the bulk and whose role may see
bulks. Then it forwards: the counts on connect and whenever the bulk moves (messaging/bulk_events.py,
a few times a second at most). It writes nothing, and closes when the session expires.
"""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from messaging.bulk_events import bulk_events
from messaging.bulk_selectors import bulk_get, bulk_progress_get
from messaging.views_bulk import BULK_VIEWER_ROLES
from tenants.authentication import portal_context
from tenants.portal import needs_two_factor

FORBIDDEN = 4403  # closing before accepting refuses the handshake (HTTP 403)
SESSION_ENDED = 4401


@dataclass(frozen=True)
class Subscription:
    account_id: uuid.UUID
    bulk_id: uuid.UUID
    session_expires_at: datetime


def _is_verified(user: Any, session: Any) -> bool:
    """What django_otp's middleware decides for a page: the session's device is the user's, confirmed."""
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    device = Device.from_persistent_id(persistent_id, for_verify=True) if persistent_id else None
    return device is not None and device.user_id == user.pk and device.confirmed


def bulk_subscription(scope: dict[str, Any], sid: str) -> Subscription | None:
    """Whether the scope's portal session may watch bulk `sid`, as the portal's pages would decide."""
    user, session = scope.get("user"), scope.get("session")
    if user is None or not user.is_authenticated or session is None or not session.session_key:
        return None
    with transaction.atomic():
        tenant = portal_context(SimpleNamespace(user=user, session=session))  # type: ignore[arg-type]
        if tenant is None or tenant.membership is None or tenant.membership.role not in BULK_VIEWER_ROLES:
            return None
        if needs_two_factor(SimpleNamespace(tenant=tenant, user=user)) and not _is_verified(user, session):  # type: ignore[arg-type]
            return None
        bulk = bulk_get(account=tenant.account, sid=sid)
        expires_at = (
            Session.objects.filter(session_key=session.session_key)
            .values_list("expire_date", flat=True)
            .first()
        )
        if bulk is None or expires_at is None:
            return None
        return Subscription(tenant.account.id, bulk.id, expires_at)


class BulkProgressConsumer(AsyncJsonWebsocketConsumer):
    subscription: Subscription | None = None
    session_timer: asyncio.TimerHandle | None = None

    async def connect(self) -> None:
        sid = self.scope["url_route"]["kwargs"]["sid"]
        self.subscription = await database_sync_to_async(bulk_subscription)(self.scope, sid)
        if self.subscription is None:
            await self.close(code=FORBIDDEN)
            return
        await self.accept()
        bulk_events().watch(self.subscription.bulk_id, self.push)
        await self.push()
        remaining = (self.subscription.session_expires_at - timezone.now()).total_seconds()
        self.session_timer = asyncio.get_running_loop().call_later(
            max(0.0, remaining), lambda: asyncio.ensure_future(self.close(code=SESSION_ENDED))
        )

    async def disconnect(self, code: int) -> None:
        if self.subscription is not None:
            bulk_events().unwatch(self.subscription.bulk_id, self.push)
        if self.session_timer is not None:
            self.session_timer.cancel()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Clients only listen."""

    async def push(self) -> None:
        """Send the bulk's progress as it is now (see bulk_selectors.bulk_progress)."""
        if self.subscription is None:
            return
        progress = await database_sync_to_async(bulk_progress_get)(
            account_id=self.subscription.account_id, bulk_id=self.subscription.bulk_id
        )
        if progress is not None:
            await self.send_json(progress)
