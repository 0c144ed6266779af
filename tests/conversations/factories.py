"""Calls, recordings and notes made through the real voice and conversations services.

Services run their on-commit hooks here as they would after a real commit (the test's own
transaction never commits), which is how calls and recordings reach their conversations. Texts are
logged by calling the hook, which is idempotent: messaging's own call of it changes nothing.
"""

import io
import wave

from django.test import TestCase

from conversations.services import conversation_log_call, conversation_log_message
from core.tenancy import tenant_activate, tenant_scope
from messaging.carriers.base import InboundSms
from messaging.create import MessageDraft, message_create
from messaging.inbound import message_receive
from messaging.models import Message
from numbering.models import IncomingPhoneNumber
from numbering.services import number_create
from tests.conftest import Tenant
from voice.inbound import inbound_call_open
from voice.models import Call, Recording
from voice.outbound import OutboundRequest, call_create
from voice.recordings import recording_store


def number(tenant: Tenant, phone_number: str) -> IncomingPhoneNumber:
    tenant_activate(tenant.account.id)
    return number_create(account=tenant.account, actor="test", phone_number=phone_number)


def inbound_call(from_number: str, to_number: str) -> Call:
    """An inbound call as the ARI worker opens it, in its conversation as when it has ended."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        setup = inbound_call_open(
            from_number=from_number, dialled=to_number, channel_id=f"ch-{from_number}", media_server_id=None
        )
    assert setup is not None, f"nobody owns {to_number}"
    with tenant_scope(setup.account_id):
        call = Call.objects.get(id=setup.call_id)
        conversation_log_call(call=call)
        return call


def outbound_request(from_number: str, to_number: str) -> OutboundRequest:
    """What the Calls API asks for when it places a call with a URL and nothing else."""
    return OutboundRequest(
        to_number=to_number,
        from_number=from_number,
        url="https://clinic.example/voice",
        method="POST",
        fallback_url="",
        fallback_method="POST",
        twiml="",
        status_callback="",
        status_callback_method="POST",
        status_callback_events=["completed"],
        timeout_seconds=30,
        is_recorded=False,
    )


def outbound_call(tenant: Tenant, from_number: str, to_number: str) -> Call:
    """A call placed through the Calls API's service; needs the `eager_tasks` fixture."""
    tenant_activate(tenant.account.id)
    request = outbound_request(from_number, to_number)
    with TestCase.captureOnCommitCallbacks(execute=True):
        call = call_create(account=tenant.account, actor="test", request=request)
    call.refresh_from_db()
    return call


def wav() -> bytes:
    """A quarter second of 8 kHz 16-bit mono."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(bytes(range(256)) * 16)
    return buffer.getvalue()


def recording(call: Call) -> Recording:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return recording_store(
            account_id=call.account_id, call_id=call.id, audio=wav(), duration_seconds=3, source="RecordVerb"
        )


def text_in(from_number: str, to_number: str, body: str) -> Message:
    """A text as the carrier gateway receives it."""
    sms = InboundSms(from_number=from_number, to=to_number, body=body, carrier_message_id=f"mo-{body[:20]}")
    message = message_receive(sms=sms, connector="test")
    assert message is not None, f"nobody owns {to_number}"
    conversation_log_message(message=message)
    return message


def text_out(tenant: Tenant, from_number: str, to_number: str, body: str) -> Message:
    """A text sent through the Messages API's service, which enters it in its conversation (its send
    task is never queued here)."""
    return message_create(
        account=tenant.account, draft=MessageDraft(to=to_number, from_=from_number, body=body, actor="test")
    )
