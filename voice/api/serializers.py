"""Input and output shapes of the Calls and Recordings resources."""

from typing import Any

from django.conf import settings
from rest_framework import serializers

from core.api import RFC2822Field, SidField, TwilioBoolean, account_path
from core.error_codes import ErrorCode
from core.fields import CallbackUrlField, HttpMethodField, PhoneNumberField
from core.phone import friendly
from core.sids import make_sid
from twiml.errors import TwimlError
from twiml.parser import parse_voice
from voice.models import Call, Recording

STATUS_CALLBACK_EVENTS = ("initiated", "ringing", "answered", "completed")
MAX_INLINE_TWIML = 4000
# Fields Twilio always sends that have no meaning here (yet): prices, AMD, trunks.
CALL_CONSTANTS = {
    "price": None,
    "price_unit": "USD",
    "answered_by": None,
    "api_version": "2010-04-01",
    "forwarded_from": None,
    "group_sid": None,
    "caller_name": None,
    "queue_time": "0",
    "trunk_sid": None,
    "annotation": None,
}
RECORDING_CONSTANTS = {
    "conference_sid": None,
    "price": None,
    "price_unit": "USD",
    "error_code": None,
    "api_version": "2010-04-01",
    "encryption_details": None,
    "track": "both",
}


class CallCreateInput(serializers.Serializer):
    to = PhoneNumberField(error_code=ErrorCode.INVALID_TO_NUMBER)
    url = CallbackUrlField()
    method = HttpMethodField(default="POST")
    twiml = serializers.CharField(required=False, allow_blank=False)
    fallback_url = CallbackUrlField()
    fallback_method = HttpMethodField(default="POST")
    status_callback = CallbackUrlField()
    status_callback_method = HttpMethodField(default="POST")
    status_callback_event = serializers.ListField(
        child=serializers.ChoiceField(choices=STATUS_CALLBACK_EVENTS), required=False
    )
    timeout = serializers.IntegerField(min_value=1, max_value=600, default=60)
    record = TwilioBoolean(default=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # `From` on the wire; not a Python name, so the field is added here rather than declared.
        self.fields["from"] = PhoneNumberField(error_code=ErrorCode.INVALID_FROM_NUMBER, source="from_number")

    def validate_twiml(self, value: str) -> str:
        if len(value) > MAX_INLINE_TWIML:
            raise serializers.ValidationError(
                "Twiml exceeds 4000 characters", code=str(ErrorCode.TWIML_TOO_LONG)
            )
        try:
            parse_voice(value)
        except TwimlError as exc:
            raise serializers.ValidationError(exc.message, code=str(exc.code)) from exc
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("url") and not attrs.get("twiml"):
            raise serializers.ValidationError(
                "Either Url or Twiml is required", code=str(ErrorCode.INVALID_URL)
            )
        return attrs


class CallUpdateInput(serializers.Serializer):
    url = CallbackUrlField()
    method = HttpMethodField(default="POST")
    twiml = serializers.CharField(required=False, max_length=MAX_INLINE_TWIML)
    status = serializers.ChoiceField(choices=["canceled", "completed"], required=False)
    status_callback = CallbackUrlField()


class CallOutput(serializers.ModelSerializer):
    account_sid = SidField("AC", source="account_id")
    parent_call_sid = SidField("CA", source="parent_call_id")
    phone_number_sid = SidField("PN", source="phone_number_id")
    to = serializers.CharField(source="to_number")
    to_formatted = serializers.SerializerMethodField()
    from_formatted = serializers.SerializerMethodField()
    start_time = RFC2822Field()
    end_time = RFC2822Field()
    duration = serializers.SerializerMethodField()
    date_created = RFC2822Field()
    date_updated = RFC2822Field()
    uri = serializers.SerializerMethodField()
    subresource_uris = serializers.SerializerMethodField()

    class Meta:
        model = Call
        fields = [
            "sid",
            "account_sid",
            "parent_call_sid",
            "phone_number_sid",
            "to",
            "to_formatted",
            "from_formatted",
            "status",
            "direction",
            "start_time",
            "end_time",
            "duration",
            "date_created",
            "date_updated",
            "uri",
            "subresource_uris",
        ]

    def to_representation(self, instance: Call) -> dict[str, Any]:
        return {**super().to_representation(instance), "from": instance.from_number, **CALL_CONSTANTS}

    @staticmethod
    def _formatted(number: str) -> str:
        try:
            return friendly(number)
        except Exception:
            return number

    def get_to_formatted(self, obj: Call) -> str:
        return self._formatted(obj.to_number)

    def get_from_formatted(self, obj: Call) -> str:
        return self._formatted(obj.from_number)

    def get_duration(self, obj: Call) -> str | None:
        return None if obj.end_time is None else str(obj.duration_seconds or 0)

    def get_uri(self, obj: Call) -> str:
        return f"{account_path(make_sid('AC', obj.account_id))}/Calls/{obj.sid}.json"

    def get_subresource_uris(self, obj: Call) -> dict[str, str]:
        base = self.get_uri(obj).removesuffix(".json")
        return {
            "recordings": f"{base}/Recordings.json",
            "notifications": f"{base}/Notifications.json",
            "events": f"{base}/Events.json",
        }


class RecordingOutput(serializers.ModelSerializer):
    account_sid = SidField("AC", source="account_id")
    call_sid = SidField("CA", source="call_id")
    duration = serializers.SerializerMethodField()
    start_time = RFC2822Field(source="date_created")
    date_created = RFC2822Field()
    date_updated = RFC2822Field()
    uri = serializers.SerializerMethodField()
    media_url = serializers.SerializerMethodField()

    class Meta:
        model = Recording
        fields = [
            "sid",
            "account_sid",
            "call_sid",
            "status",
            "source",
            "channels",
            "duration",
            "start_time",
            "date_created",
            "date_updated",
            "uri",
            "media_url",
        ]

    def to_representation(self, instance: Recording) -> dict[str, Any]:
        return {**super().to_representation(instance), **RECORDING_CONSTANTS}

    def get_duration(self, obj: Recording) -> str:
        return str(obj.duration_seconds or 0)

    def get_uri(self, obj: Recording) -> str:
        return f"{account_path(make_sid('AC', obj.account_id))}/Recordings/{obj.sid}.json"

    def get_media_url(self, obj: Recording) -> str:
        return f"{settings.PUBLIC_BASE_URL}{self.get_uri(obj).removesuffix('.json')}"
