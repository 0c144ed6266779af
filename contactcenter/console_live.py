"""The console's live side outside the socket: what the engine's events push to a worker's consoles,
and which consoles of a worker are open.

A reservation made for a worker who has a portal member is pushed as a `ring` the moment the
transaction making it (the task's create, or a routing pass) commits (published from its on-commit
hook, not read back by a socket), so the browser rings without waiting for a read; every later
change of the worker's reservations or activity is pushed as `changed`, and each console then reads
its state again (console_state.py), as after a new text of a task's customer. Workers without a
member (API-driven) cost nothing here.

Open consoles are kept in a Redis sorted set per worker (member: the socket's channel name, score:
when it was last seen, refreshed by the socket), so any process can tell whether the agent still has
a console open: an entry not refreshed for PRESENCE_STALE_SECONDS belongs to a process that died.
"""

import asyncio
import time
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from contactcenter.taskrouter.models import Event, Reservation, Task, Worker
from core.tenancy import tenant_scope
from core.throttling import redis_client

RING = "console.ring"  # handled by ConsoleConsumer.console_ring
CHANGED = "console.changed"  # ConsoleConsumer.console_changed
PRESENCE_REFRESH_SECONDS = 20
PRESENCE_STALE_SECONDS = 60


def worker_group(worker_id: uuid.UUID) -> str:
    """The channel-layer group of every console of one worker, in every browser and process."""
    return f"console-worker.{worker_id.hex}"


class _Pushes:
    """One transaction's pushes, sent together once it commits: one event loop and one round of
    concurrent sends, however many offers a routing pass made (sent one by one, each paid for an
    event loop and a Redis connection of its own: 4-20 ms apiece, so the hundredth ring of a pass
    waited for the ninety-nine before it). A push made in a savepoint later rolled back is still
    sent: a ring the console's next read shows nothing for, which stops it ringing."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.is_sent = False
        self.__qualname__ = type(self).__qualname__  # robust on_commit names a failing hook by it

    def __call__(self) -> None:
        layer = get_channel_layer()
        assert layer is not None, "CHANNEL_LAYERS is configured in settings"

        async def send_all() -> None:
            await asyncio.gather(*(layer.group_send(group, message) for group, message in self.messages))

        self.is_sent = True
        async_to_sync(send_all)()


def _send_on_commit(group: str, message: dict[str, Any]) -> None:
    """Robust: a channel layer that cannot be reached loses the pushes, never the routing decision
    (a console's read on reconnect shows it). The transaction's one `_Pushes` is found among its
    on-commit hooks, so a transaction rolled back takes its pushes with it (one already sent is
    passed over: a test's transaction runs its hooks without committing, and keeps them)."""
    pending = transaction.get_connection().run_on_commit
    pushes = next((hook for _, hook, _ in pending if isinstance(hook, _Pushes) and not hook.is_sent), None)
    if pushes is None:
        pushes = _Pushes()
        transaction.on_commit(pushes, robust=True)
    pushes.messages.append((group, message))


def console_event_publish(*, event: Event, resource: Any) -> None:
    """Push a workspace event that concerns a worker with a console (the engine's `event_recorded`,
    inside its transaction)."""
    if isinstance(resource, Reservation):
        worker = resource.worker
    elif isinstance(resource, Worker):
        worker = resource
    else:
        return
    if worker is None or worker.member_id is None:
        return
    group = worker_group(worker.id)
    if event.event_type == "reservation.created":
        task = resource.task
        _send_on_commit(
            group,
            {
                "type": RING,
                "reservation_sid": resource.sid,
                "task_sid": task.sid,
                "channel": task.task_channel.unique_name if task.task_channel_id else "",
                "customer": str(task.attributes_json.get("from", "")),
                "created_at": resource.date_created.timestamp(),
            },
        )
    else:
        _send_on_commit(group, {"type": CHANGED, "event_type": event.event_type})


def console_task_touched(*, account_id: uuid.UUID, task: Task) -> None:
    """Something the consoles holding `task` show changed outside the engine (the customer texted
    again, joining their open task): they read their state again once this commits."""
    with tenant_scope(account_id):
        holders = Reservation.objects.filter(
            task=task, status__in=Reservation.HOLDING, worker__member__isnull=False
        ).values_list("worker_id", flat=True)
        for worker_id in holders:
            _send_on_commit(worker_group(worker_id), {"type": CHANGED, "event_type": "task.touched"})


def _presence_key(worker_id: uuid.UUID) -> str:
    return f"console-presence:{worker_id.hex}"


def console_presence_mark(*, worker_id: uuid.UUID, channel_name: str) -> None:
    """A console of the worker is open (called on connect and every PRESENCE_REFRESH_SECONDS)."""
    key = _presence_key(worker_id)
    client = redis_client()
    client.zadd(key, {channel_name: time.time()})
    client.expire(key, PRESENCE_STALE_SECONDS * 2)


def console_presence_clear(*, worker_id: uuid.UUID, channel_name: str) -> None:
    redis_client().zrem(_presence_key(worker_id), channel_name)


def console_is_open(*, worker_id: uuid.UUID) -> bool:
    """Whether any console of the worker is open now, in any process."""
    key = _presence_key(worker_id)
    client = redis_client()
    client.zremrangebyscore(key, 0, time.time() - PRESENCE_STALE_SECONDS)
    return bool(client.zcard(key))
