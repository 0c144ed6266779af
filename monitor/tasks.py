"""Celery tasks for webhook delivery."""

import uuid

from celery import shared_task
from celery.app.task import Task
from django.conf import settings

from monitor.deliveries import webhook_attempt

BACKOFF_BASE_SECONDS = 2


@shared_task(bind=True, name="monitor.webhook_deliver", acks_late=True, max_retries=None)
def webhook_deliver_task(self: Task, account_id: str, delivery_id: str) -> None:
    """Idempotent: a delivery already delivered or given up is skipped, so late ack is safe.

    Retries back off exponentially (2 s, 4 s, 8 s, …) up to WEBHOOK_MAX_ATTEMPTS attempts in all.
    """
    is_last = self.request.retries + 1 >= settings.WEBHOOK_MAX_ATTEMPTS
    done = webhook_attempt(
        account_id=uuid.UUID(account_id), delivery_id=uuid.UUID(delivery_id), is_last_attempt=is_last
    )
    if not done and not is_last:
        raise self.retry(countdown=BACKOFF_BASE_SECONDS ** (self.request.retries + 1))
