"""Celery tasks that hand messages (one, those created together, or a chunk of a bulk alert) to their
carrier. An inbound message's SMS webhook runs in messaging/webhook_tasks.py: that task runs the reply
code, which creates messages, and message creation queues the tasks here, so one module holding both
would import itself through them."""

import uuid

from celery import shared_task

from core.coalescing import Coalescer
from messaging.handover import message_send

SEND_WINDOW_S = 0.02  # how long a new message waits for others of its account to share its task
SEND_BATCH = 500  # messages per task at most


@shared_task(name="messaging.message_send", acks_late=True)
def message_send_task(account_id: str, message_ids: list[str]) -> None:
    """Idempotent (only a queued message is handed over, and the gateway submits a SID once), so it
    acknowledges late: a worker killed mid-task hands the messages over again, never twice to the
    carrier."""
    message_send(account_id=uuid.UUID(account_id), message_ids=[uuid.UUID(i) for i in message_ids])


def _publish_send(account_id: str, message_ids: list[str]) -> None:
    message_send_task.delay(account_id, message_ids)


_send_batches: Coalescer[str, str] = Coalescer(
    _publish_send, window=SEND_WINDOW_S, batch_size=SEND_BATCH, name="messaging-send"
)


def message_send_soon(account_id: uuid.UUID, message_id: uuid.UUID) -> None:
    """Queue a created message's send task, shared with the messages of its account this process
    creates in the next few milliseconds: publishing a task costs CPU (bench/RESULTS.md), and so do
    the worker's share and the hand-over's transaction, per task. Call it after commit. A
    task never published (the process died first, Redis was away) leaves the message to the gateway's
    sweep."""
    _send_batches.add(str(account_id), str(message_id))
