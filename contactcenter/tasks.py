"""Celery tasks of the contact center."""

import uuid

from celery import shared_task

from contactcenter.console_sessions import console_closed_check


@shared_task(name="contactcenter.console_closed_check")
def console_closed_check_task(account_id: str, worker_id: str) -> None:
    """Queued with a countdown of the grace period when a worker's console closes. Idempotent (a
    worker already offline, or with a console open again, is left alone), so not retried."""
    console_closed_check(account_id=uuid.UUID(account_id), worker_id=uuid.UUID(worker_id))
