"""Portal websockets that live no longer than the session that opened them (HIPAA automatic logoff,
45 CFR 164.312(a)(2)(iii): sessions end after SESSION_COOKIE_AGE idle, and at sign-out).

A consumer deriving from `SessionSocketConsumer` joins a channel-layer group named for its session
before it accepts, so signing out (`session_sockets_close`) closes every socket of that session, in
every tab and every ASGI process. A session that has ended or expired is refused on connect; an open
socket re-reads its session before acting on anything the client sends, and closes when the session
runs out (page requests renew it, so the expiry is read again then rather than fixed at connect).
"""

import asyncio
from collections.abc import Collection
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from tenants.authentication import portal_context
from tenants.context import TenantContext
from tenants.models import Role, User
from tenants.portal import portal_refusal

FORBIDDEN = 4403  # closing before accepting refuses the handshake (HTTP 403)
SESSION_ENDED = 4401
SESSION_ENDED_EVENT = "session.ended"  # handled by SessionSocketConsumer.session_ended


def session_group(session_key: str) -> str:
    """The channel-layer group of a session's sockets (session keys are 32 lowercase alphanumerics)."""
    return f"portal-session.{session_key}"


def session_expires_at(session_key: str) -> datetime | None:
    """When the session ends unless a page request renews it; None once it has ended."""
    return (
        Session.objects.filter(session_key=session_key, expire_date__gt=timezone.now())
        .values_list("expire_date", flat=True)
        .first()
    )


def user_group(user_id: int) -> str:
    """The channel-layer group of every socket of every session of one user."""
    return f"portal-user.{user_id}"


def _session_is_verified(user: User, session: SessionBase) -> bool:
    """What django_otp's middleware decides for a page: the session's device is the user's, confirmed."""
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    device = Device.from_persistent_id(persistent_id, for_verify=True) if persistent_id else None
    return device is not None and device.user_id == user.pk and device.confirmed


def socket_tenant(scope: dict[str, Any], *, roles: Collection[Role]) -> TenantContext | None:
    """The current account of the socket's signed-in session, when the portal's rule
    (`portal_refusal`) admits its user to a page for `roles`; None otherwise. Scopes the transaction
    to that account, as a page request's middleware does."""
    user, session = scope["user"], scope["session"]
    tenant = portal_context(user=user, session=session)
    refusal = portal_refusal(
        user=user, tenant=tenant, is_verified=lambda: _session_is_verified(user, session), roles=roles
    )
    return tenant if refusal is None else None


def _close_group_on_commit(group: str) -> None:
    """A channel layer that cannot be reached is logged by on_commit and does not undo what ended the
    sessions: those sockets still close on their next message or when their session is found gone."""
    layer = get_channel_layer()
    assert layer is not None, "CHANNEL_LAYERS is configured in settings"
    transaction.on_commit(
        lambda: async_to_sync(layer.group_send)(group, {"type": SESSION_ENDED_EVENT}), robust=True
    )


def session_sockets_close(session_key: str) -> None:
    """Close every websocket of the session once the transaction ending it (a sign-out) commits."""
    _close_group_on_commit(session_group(session_key))


def user_sockets_close(user_id: int) -> None:
    """Close every websocket of every session of the user once the transaction commits: a password
    set anew ends the user's other sessions (Django checks a session against the password), sockets
    included."""
    _close_group_on_commit(user_group(user_id))


class SessionSocketConsumer(AsyncJsonWebsocketConsumer):
    """A portal websocket bound to its session. Subclasses call `session_join` first in `connect`,
    and refuse the socket when it returns False."""

    session_key = ""
    expiry_watch: asyncio.Task[None] | None = None

    async def session_join(self) -> bool:
        """Join the session's group and watch its expiry; False when there is no live signed-in session."""
        user, session = self.scope.get("user"), self.scope.get("session")
        if user is None or not user.is_authenticated or session is None or not session.session_key:
            return False
        self.session_key = session.session_key
        # Joined before the session is read: a sign-out committing after the read sends its close to
        # a group this socket is already in. Channels leaves `self.groups` on disconnect.
        for group in (session_group(self.session_key), user_group(user.pk)):
            self.groups.append(group)
            await self.channel_layer.group_add(group, self.channel_name)
        expires_at = await database_sync_to_async(session_expires_at)(self.session_key)
        if expires_at is None:
            return False
        self.expiry_watch = asyncio.create_task(self._close_at_expiry(expires_at))
        return True

    async def _close_at_expiry(self, expires_at: datetime | None) -> None:
        while expires_at is not None:
            await asyncio.sleep(max(0.0, (expires_at - timezone.now()).total_seconds()))
            expires_at = await database_sync_to_async(session_expires_at)(self.session_key)
        await self.close(code=SESSION_ENDED)

    async def session_ended(self, event: dict[str, Any]) -> None:
        """The session signed out (`session_sockets_close`), or its user's password was set anew
        (`user_sockets_close`)."""
        await self.close(code=SESSION_ENDED)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        """Nothing a client sends is acted on once its session has ended (expired, or its row removed
        without a sign-out, as `clearsessions` or an operator would)."""
        if await database_sync_to_async(session_expires_at)(self.session_key) is None:
            await self.close(code=SESSION_ENDED)
            return
        await super().receive(text_data, bytes_data, **kwargs)

    async def disconnect(self, code: int) -> None:
        if self.expiry_watch is not None:
            self.expiry_watch.cancel()
