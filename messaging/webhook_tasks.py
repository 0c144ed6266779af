"""The Celery task that runs an inbound message's SMS webhook (messaging/replies.py). Not in
messaging/tasks.py: the replies it runs create messages, which queue the tasks there. The worker
imports this module through `CELERY_IMPORTS`."""

import uuid

from celery import shared_task

from messaging.replies import message_webhook_run


@shared_task(name="messaging.message_webhook")
def message_webhook_task(account_id: str, message_id: str) -> None:
    """Not idempotent (the tenant's app would see the message twice and may reply twice), so it
    acknowledges early; the task claims the webhook first, and the gateway's sweep re-queues one whose
    task never started."""
    message_webhook_run(account_id=uuid.UUID(account_id), message_id=uuid.UUID(message_id))
