"""Celery tasks for webhook delivery."""

import uuid

from celery import shared_task
from celery.app.task import Task

from monitor.deliveries import webhook_attempt


@shared_task(bind=True, name="monitor.webhook_deliver", acks_late=True, max_retries=None)
def webhook_deliver_task(self: Task, account_id: str, delivery_id: str) -> None:
    """Idempotent: a delivery done, given up or being attempted elsewhere is skipped, so late ack
    (and a second task from the sweep) is safe.

    Retries back off exponentially (2 s, 4 s, 8 s, …) up to WEBHOOK_MAX_ATTEMPTS attempts in all,
    counted on the delivery, so a re-queued delivery goes on where it stopped.
    """
    retry_in = webhook_attempt(account_id=uuid.UUID(account_id), delivery_id=uuid.UUID(delivery_id))
    if retry_in is not None:
        raise self.retry(countdown=retry_in)
