"""What streams does when voice announces something (voice/signals.py): a call's end stops its streams,
however the call ended (hung up, failed, its worker gone), in the transaction that ends it."""

from typing import Any

from django.dispatch import receiver

from streams.services import streams_stop_for_call
from voice.models import Call
from voice.signals import call_ended


@receiver(call_ended, sender=Call)
def stop_streams(*, call: Call, **_: Any) -> None:
    streams_stop_for_call(call=call)
