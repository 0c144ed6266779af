"""Shapes of the native conversations API: snake_case JSON, ISO 8601 times in UTC, SIDs.

The declared fields describe each shape for the OpenAPI schema; `to_representation` builds it
directly, because a timeline page renders many nested rows and DRF's generic path is slow at that.
"""

from typing import Any

from rest_framework import serializers

from conversations.models import AgentTurn, Contact, Conversation, Item, Note
from core.api import account_path
from core.native import PageOutput, iso
from core.sids import make_sid
from messaging.models import Message
from voice.models import Call, Recording

API_ROOT = "/api/v1"


class ContactOutput(serializers.Serializer):
    sid = serializers.CharField()
    phone_number = serializers.CharField()
    name = serializers.CharField()

    def to_representation(self, instance: Contact) -> dict[str, Any]:
        return {"sid": instance.sid, "phone_number": instance.phone_number, "name": instance.name}


class CallSummary(serializers.Serializer):
    sid = serializers.CharField()
    direction = serializers.CharField()
    status = serializers.CharField()
    from_number = serializers.CharField()
    to_number = serializers.CharField()
    duration = serializers.IntegerField(allow_null=True, help_text="Seconds, once the call has ended.")
    uri = serializers.CharField(help_text="The call in the Twilio-compatible API.")


class MessageSummary(serializers.Serializer):
    sid = serializers.CharField()
    direction = serializers.CharField()
    status = serializers.CharField()
    from_number = serializers.CharField()
    to_number = serializers.CharField()
    body = serializers.CharField(help_text="Empty once the message is redacted.")
    num_media = serializers.IntegerField()
    uri = serializers.CharField(help_text="The message in the Twilio-compatible API.")


class RecordingSummary(serializers.Serializer):
    sid = serializers.CharField()
    call_sid = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    duration = serializers.IntegerField(allow_null=True, help_text="Seconds.")
    media_url = serializers.CharField(help_text="The audio (WAV); fetch it with the same credentials.")


class NoteSummary(serializers.Serializer):
    sid = serializers.CharField()
    text = serializers.CharField()
    author = serializers.CharField(allow_null=True, help_text="The portal user's email; null for the API.")


class AgentTurnSummary(serializers.Serializer):
    sid = serializers.CharField()
    agent_sid = serializers.CharField()
    caller_text = serializers.CharField()
    agent_text = serializers.CharField()
    tool_calls = serializers.ListField(child=serializers.DictField())
    timings = serializers.DictField(child=serializers.IntegerField(), help_text="Milliseconds by step.")


def _call(call: Call, account: str) -> dict[str, Any]:
    return {
        "sid": call.sid,
        "direction": call.direction,
        "status": call.status,
        "from_number": call.from_number,
        "to_number": call.to_number,
        "duration": call.duration_seconds if call.end_time else None,
        "uri": f"{account}/Calls/{call.sid}.json",
    }


def _message(message: Message, account: str) -> dict[str, Any]:
    return {
        "sid": message.sid,
        "direction": message.direction,
        "status": message.status,
        "from_number": message.from_number,
        "to_number": message.to_number,
        "body": message.body,
        "num_media": message.num_media,
        "uri": f"{account}/Messages/{message.sid}.json",
    }


def _recording(recording: Recording, account: str) -> dict[str, Any]:
    return {
        "sid": recording.sid,
        "call_sid": make_sid("CA", recording.call_id) if recording.call_id else None,
        "status": recording.status,
        "duration": recording.duration_seconds,
        "media_url": f"{account}/Recordings/{recording.sid}.wav",
    }


def _note(note: Note) -> dict[str, Any]:
    return {"sid": note.sid, "text": note.text, "author": note.author.email if note.author else None}


def _agent_turn(turn: AgentTurn) -> dict[str, Any]:
    fields = ("agent_sid", "caller_text", "agent_text", "tool_calls", "timings")
    return {"sid": turn.sid, **{name: getattr(turn, name) for name in fields}}


class ItemOutput(serializers.Serializer):
    """One timeline entry; the object named by `kind` is set and the others are null."""

    sid = serializers.CharField()
    conversation_sid = serializers.CharField()
    kind = serializers.ChoiceField(choices=Item.Kind.choices)
    occurred_at = serializers.DateTimeField()
    call = CallSummary(allow_null=True)
    message = MessageSummary(allow_null=True)
    recording = RecordingSummary(allow_null=True)
    note = NoteSummary(allow_null=True)
    agent_turn = AgentTurnSummary(allow_null=True)

    def to_representation(self, instance: Item) -> dict[str, Any]:
        account = account_path(make_sid("AC", instance.account_id))
        return {
            "sid": instance.sid,
            "conversation_sid": make_sid(Conversation.SID_PREFIX, instance.conversation_id),
            "kind": instance.kind,
            "occurred_at": iso(instance.occurred_at),
            "call": _call(instance.call, account) if instance.call else None,
            "message": _message(instance.message, account) if instance.message else None,
            "recording": _recording(instance.recording, account) if instance.recording else None,
            "note": _note(instance.note) if instance.note else None,
            "agent_turn": _agent_turn(instance.agent_turn) if instance.agent_turn else None,
        }


class SearchHitOutput(ItemOutput):
    """A matching timeline entry, with the contact of its conversation."""

    contact = ContactOutput()

    def to_representation(self, instance: Item) -> dict[str, Any]:
        contact = ContactOutput(instance.conversation.contact).data
        return {**super().to_representation(instance), "contact": contact}


class ConversationOutput(serializers.Serializer):
    sid = serializers.CharField()
    account_sid = serializers.CharField()
    tenant_number = serializers.CharField(help_text="The account's number in this conversation.")
    contact = ContactOutput()
    last_activity_at = serializers.DateTimeField()
    unread_count = serializers.IntegerField(help_text="Inbound calls and texts since it was last read.")
    last_item = ItemOutput(allow_null=True)
    date_created = serializers.DateTimeField()
    url = serializers.CharField()
    items_url = serializers.CharField()

    def to_representation(self, instance: Conversation) -> dict[str, Any]:
        url = f"{API_ROOT}/conversations/{instance.sid}"
        return {
            "sid": instance.sid,
            "account_sid": make_sid("AC", instance.account_id),
            "tenant_number": instance.tenant_number,
            "contact": ContactOutput(instance.contact).data,
            "last_activity_at": iso(instance.last_activity_at),
            "unread_count": instance.unread_count,
            "last_item": ItemOutput(instance.last_item).data if instance.last_item else None,
            "date_created": iso(instance.date_created),
            "url": url,
            "items_url": f"{url}/items",
        }


class ConversationPageOutput(PageOutput):
    conversations = ConversationOutput(many=True)


class ItemPageOutput(PageOutput):
    items = ItemOutput(many=True)


class SearchPageOutput(PageOutput):
    items = SearchHitOutput(many=True)


class NoteInput(serializers.Serializer):
    text = serializers.CharField(max_length=Note.MAX_LENGTH)


class ContactInput(serializers.Serializer):
    name = serializers.CharField(max_length=64, allow_blank=True)
