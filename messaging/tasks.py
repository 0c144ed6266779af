"""Celery tasks for messaging: hand a message (or a chunk of a bulk alert) to its carrier, run an inbound
message's SMS webhook."""

import uuid

from celery import shared_task

from messaging.replies import message_webhook_run
from messaging.services import message_send


@shared_task(name="messaging.message_send", acks_late=True)
def message_send_task(account_id: str, message_id: str) -> None:
    """Idempotent (only a queued message is handed over, and the gateway submits a SID once), so it
    acknowledges late: a worker killed mid-task hands the message over again, never twice to the carrier."""
    message_send(account_id=uuid.UUID(account_id), message_ids=[uuid.UUID(message_id)])


@shared_task(name="messaging.message_webhook")
def message_webhook_task(account_id: str, message_id: str) -> None:
    """Not idempotent (the tenant's app would see the message twice and may reply twice), so it
    acknowledges early; the task claims the webhook first, and the gateway's sweep re-queues one whose
    task never started."""
    message_webhook_run(account_id=uuid.UUID(account_id), message_id=uuid.UUID(message_id))


@shared_task(name="messaging.bulk_send", acks_late=True)
def bulk_send_task(account_id: str, message_ids: list[str]) -> None:
    """One chunk of a bulk alert (messaging/bulk.py), handed over like single messages: idempotent, so
    it acknowledges late; a chunk lost with a killed worker is handed over by the gateway's sweep."""
    message_send(account_id=uuid.UUID(account_id), message_ids=[uuid.UUID(i) for i in message_ids])
