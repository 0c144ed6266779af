"""Celery tasks for voice."""

import uuid

from celery import shared_task

from voice.origination import call_originate


@shared_task(name="voice.call_originate", acks_late=True)
def call_originate_task(account_id: str, call_id: str) -> None:
    """Idempotent (only a queued call is originated), so it acknowledges late and survives a worker kill."""
    call_originate(account_id=uuid.UUID(account_id), call_id=uuid.UUID(call_id))
