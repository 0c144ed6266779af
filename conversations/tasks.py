"""Celery tasks for conversation history: putting a bulk alert's texts in their recipients' threads."""

import uuid

from celery import shared_task

from conversations.services import conversation_log_message_ids


@shared_task(name="conversations.log_messages", acks_late=True)
def conversation_log_messages_task(account_id: str, message_ids: list[str]) -> None:
    """Idempotent (a text enters a timeline once), so it acknowledges late: a worker killed mid-task
    logs the chunk again, never twice."""
    conversation_log_message_ids(
        account_id=uuid.UUID(account_id), message_ids=[uuid.UUID(i) for i in message_ids]
    )
