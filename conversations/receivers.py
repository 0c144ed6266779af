"""Where voice's and messaging's signals (their `signals.py`) reach conversations: calls, texts and
recordings join their contacts' timelines. Connected by `ConversationsConfig.ready()`."""

from typing import Any

from django.dispatch import receiver

from conversations.services import conversation_log_call, conversation_log_recording
from voice.models import Call, Recording
from voice.signals import call_logged, recording_stored


@receiver(call_logged, dispatch_uid="conversations.call_logged")
def _call_logged(sender: type[Call], *, call: Call, **kwargs: Any) -> None:
    conversation_log_call(call=call)


@receiver(recording_stored, dispatch_uid="conversations.recording_stored")
def _recording_stored(sender: type[Recording], *, recording: Recording, **kwargs: Any) -> None:
    conversation_log_recording(recording=recording)
