"""What conversations does when the apps below it announce something (their `signals.py`): the
timelines are a projection of their calls, recordings and texts, and neither voice nor messaging
imports conversations. Connected in `ConversationsConfig.ready`."""

import uuid
from collections.abc import Sequence
from typing import Any

from django.dispatch import receiver

from conversations.services import (
    conversation_log_call,
    conversation_log_message,
    conversation_log_recording,
    timeline_add_messages,
)
from conversations.tasks import conversation_log_messages_task
from core.commit_hooks import on_commit_robust
from messaging.bulk.queueing import bulk_task
from messaging.models import Message
from messaging.signals import bulk_messages_stored, message_received, messages_stored
from voice.models import Call, Recording
from voice.signals import call_logged, recording_stored


@receiver(call_logged)
def _call_logged(*, call: Call, **_: Any) -> None:
    conversation_log_call(call=call)


@receiver(recording_stored)
def _recording_stored(*, recording: Recording, **_: Any) -> None:
    conversation_log_recording(recording=recording)


@receiver(messages_stored)
def _messages_stored(*, account_id: uuid.UUID, messages: Sequence[Message], **_: Any) -> None:
    # In the transaction storing them rather than one of its own after commit: the thread's row is
    # written either way, and a second transaction per message cost as much as the rest of an API create.
    timeline_add_messages(account_id=account_id, messages=messages)


@receiver(message_received)
def _message_received(*, message: Message, **_: Any) -> None:
    conversation_log_message(message=message)


@receiver(bulk_messages_stored)
def _bulk_messages_stored(*, account_id: uuid.UUID, chunks: Sequence[list[str]], **_: Any) -> None:
    """A task per chunk, each queued on its own: one that cannot be queued (Redis away) leaves its
    texts out of the timelines without holding back the rest."""
    for chunk in chunks:
        on_commit_robust(bulk_task, conversation_log_messages_task, str(account_id), chunk)
