"""Input and output shapes of the Messages resource and a message's Media."""

from typing import Any

from rest_framework import serializers

from core.api import account_path
from core.dates import rfc2822
from core.error_codes import ErrorCode
from core.fields import CallbackUrlField
from core.parsers import pascal_case
from core.sids import make_sid
from messaging.create import MessageDraft
from messaging.models import Media, Message


class CodedField(serializers.Field):
    """Every failure of the field is one Twilio code (the base field's own message is not Twilio's)."""

    def __init__(self, *, error_code: ErrorCode, **kwargs: Any) -> None:
        self.error_code = error_code
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            name = pascal_case(self.field_name or "")
            raise serializers.ValidationError(f"Invalid {name}: {data}", code=str(self.error_code)) from exc


class ValidityPeriodField(CodedField, serializers.IntegerField):
    pass


class SendAtField(CodedField, serializers.DateTimeField):
    pass


class MessageCreateInput(serializers.Serializer):
    to = serializers.CharField(required=False, allow_blank=True)
    body = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    media_url = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    messaging_service_sid = serializers.CharField(required=False, allow_blank=True)
    status_callback = CallbackUrlField()
    validity_period = ValidityPeriodField(error_code=ErrorCode.INVALID_VALIDITY_PERIOD, required=False)
    send_at = SendAtField(error_code=ErrorCode.SEND_AT_NOT_SUPPORTED, required=False)
    schedule_type = serializers.CharField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # `From` on the wire; not a Python name, so the field is added here rather than declared.
        self.fields["from"] = serializers.CharField(required=False, allow_blank=True, source="from_")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "body" not in attrs and not attrs["media_url"]:
            raise serializers.ValidationError(
                "A text message body or media urls must be specified.",
                code=str(ErrorCode.BODY_OR_MEDIA_REQUIRED),
            )
        schedule_type = attrs.pop("schedule_type", None)
        if schedule_type is not None and schedule_type != "fixed":
            raise serializers.ValidationError(
                f"ScheduleType {schedule_type} is not supported",
                code=str(ErrorCode.SCHEDULE_TYPE_NOT_SUPPORTED),
            )
        if schedule_type == "fixed" and "send_at" not in attrs:
            raise serializers.ValidationError(
                "SendAt is required when ScheduleType is fixed", code=str(ErrorCode.SEND_AT_MISSING)
            )
        if "send_at" in attrs and schedule_type != "fixed":
            raise serializers.ValidationError(
                "SendAt requires ScheduleType=fixed", code=str(ErrorCode.INVALID_PARAMETER)
            )
        return attrs


def message_draft(data: dict[str, Any], *, actor: str) -> MessageDraft:
    """What `MessageCreateInput` validated, as the service's draft."""
    return MessageDraft(
        to=data.get("to", ""),
        actor=actor,
        from_=data.get("from_"),
        messaging_service_sid=data.get("messaging_service_sid"),
        body=data.get("body", ""),
        media_urls=data["media_url"],
        status_callback=data.get("status_callback", ""),
        send_at=data.get("send_at"),
        validity_period=data.get("validity_period"),
    )


class MessageUpdateInput(serializers.Serializer):
    """Exactly one of: `Body=""` (redact) or `Status=canceled` (cancel a scheduled message); else 30400."""

    body = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    status = serializers.CharField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("body" in attrs) == ("status" in attrs):
            raise serializers.ValidationError(
                "Provide either Body or Status, not both", code=str(ErrorCode.INVALID_MESSAGE_UPDATE)
            )
        if attrs.get("body"):
            raise serializers.ValidationError(
                "Body can only be updated to an empty string", code=str(ErrorCode.INVALID_MESSAGE_UPDATE)
            )
        if "status" in attrs and attrs["status"] != Message.Status.CANCELED:
            raise serializers.ValidationError(
                "Status can only be updated to canceled", code=str(ErrorCode.INVALID_MESSAGE_UPDATE)
            )
        return attrs


def message_uri(message: Message) -> str:
    return f"{account_path(make_sid('AC', message.account_id))}/Messages/{message.sid}.json"


class MessageOutput(serializers.ModelSerializer):
    """Built directly in `to_representation` (lists of up to 1000 rows come through here); the declared
    fields describe the shape for the OpenAPI schema."""

    account_sid = serializers.CharField()
    api_version = serializers.CharField()
    date_created = serializers.CharField()
    date_updated = serializers.CharField()
    date_sent = serializers.CharField(allow_null=True)
    to = serializers.CharField()
    num_segments = serializers.CharField()
    num_media = serializers.CharField()
    price = serializers.CharField(allow_null=True)
    error_message = serializers.CharField(allow_null=True)
    messaging_service_sid = serializers.CharField(allow_null=True)
    uri = serializers.CharField()
    subresource_uris = serializers.DictField(child=serializers.CharField())

    class Meta:
        model = Message
        fields = [
            "sid",
            "account_sid",
            "api_version",
            "body",
            "date_created",
            "date_sent",
            "date_updated",
            "direction",
            "error_code",
            "error_message",
            "messaging_service_sid",
            "num_media",
            "num_segments",
            "price",
            "price_unit",
            "status",
            "to",
            "uri",
            "subresource_uris",
        ]

    def get_fields(self) -> dict[str, serializers.Field]:
        """Only the schema reads the fields: built on demand, not for every message rendered."""
        fields = super().get_fields()
        fields["from"] = serializers.CharField(source="from_number")  # `from` is not a Python name
        return fields

    def to_representation(self, instance: Message) -> dict[str, Any]:
        uri = message_uri(instance)
        base = uri.removesuffix(".json")
        return {
            "account_sid": make_sid("AC", instance.account_id),
            "api_version": "2010-04-01",
            "body": instance.body,
            "date_created": rfc2822(instance.date_created),
            "date_sent": rfc2822(instance.date_sent),
            "date_updated": rfc2822(instance.date_updated),
            "direction": instance.direction,
            "error_code": instance.error_code,
            "error_message": instance.error_message or None,
            "from": instance.from_number,
            "messaging_service_sid": instance.messaging_service_sid or None,
            "num_media": str(instance.num_media),
            "num_segments": str(instance.num_segments),
            "price": None if instance.price is None else str(instance.price),
            "price_unit": instance.price_unit,
            "sid": instance.sid,
            "status": instance.status,
            "subresource_uris": {"media": f"{base}/Media.json", "feedback": f"{base}/Feedback.json"},
            "to": instance.to_number,
            "uri": uri,
        }


class MediaOutput(serializers.ModelSerializer):
    account_sid = serializers.CharField()
    parent_sid = serializers.CharField()
    date_created = serializers.CharField()
    date_updated = serializers.CharField()
    uri = serializers.CharField()

    class Meta:
        model = Media
        fields = ["sid", "account_sid", "parent_sid", "content_type", "date_created", "date_updated", "uri"]

    def to_representation(self, instance: Media) -> dict[str, Any]:
        parent = make_sid(Message.SID_PREFIX, instance.message_id)
        account_sid = make_sid("AC", instance.account_id)
        return {
            "account_sid": account_sid,
            "content_type": instance.content_type,
            "date_created": rfc2822(instance.date_created),
            "date_updated": rfc2822(instance.date_updated),
            "parent_sid": parent,
            "sid": instance.sid,
            "uri": f"{account_path(account_sid)}/Messages/{parent}/Media/{instance.sid}.json",
        }
