"""Input and output shapes of the IncomingPhoneNumbers resource."""

from typing import Any

from rest_framework import serializers

from core.api import RFC2822Field, SidField, TwilioBoolean, account_path
from core.fields import CallbackUrlField, HttpMethodField, PhoneNumberField
from core.sids import make_sid
from numbering.models import IncomingPhoneNumber


class NumberSettingsInput(serializers.Serializer):
    friendly_name = serializers.CharField(required=False, allow_blank=True, max_length=64)
    voice_url = CallbackUrlField()
    voice_method = HttpMethodField()
    voice_fallback_url = CallbackUrlField()
    voice_fallback_method = HttpMethodField()
    voice_caller_id_lookup = TwilioBoolean(required=False)
    status_callback = CallbackUrlField()
    status_callback_method = HttpMethodField()
    sms_url = CallbackUrlField()
    sms_method = HttpMethodField()
    sms_fallback_url = CallbackUrlField()
    sms_fallback_method = HttpMethodField()


class NumberCreateInput(NumberSettingsInput):
    phone_number = PhoneNumberField(required=False)
    area_code = serializers.CharField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "phone_number" in attrs:
            return attrs
        if "area_code" in attrs:
            # No carrier inventory is configured to buy from, so no area code has numbers to offer.
            raise serializers.ValidationError(
                f"No phone numbers found in area code {attrs['area_code']}", code="21452"
            )
        raise serializers.ValidationError(
            "A 'PhoneNumber' or an 'AreaCode' is required to create an IncomingPhoneNumber", code="21421"
        )


class NumberOutput(serializers.ModelSerializer):
    account_sid = SidField("AC", source="account_id")
    capabilities = serializers.SerializerMethodField()
    date_created = RFC2822Field()
    date_updated = RFC2822Field()
    uri = serializers.SerializerMethodField()
    api_version = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    origin = serializers.SerializerMethodField()
    subresource_uris = serializers.SerializerMethodField()

    class Meta:
        model = IncomingPhoneNumber
        fields = [
            "sid",
            "account_sid",
            "friendly_name",
            "phone_number",
            "voice_url",
            "voice_method",
            "voice_fallback_url",
            "voice_fallback_method",
            "voice_caller_id_lookup",
            "status_callback",
            "status_callback_method",
            "sms_url",
            "sms_method",
            "sms_fallback_url",
            "sms_fallback_method",
            "capabilities",
            "status",
            "origin",
            "api_version",
            "date_created",
            "date_updated",
            "uri",
            "subresource_uris",
        ]

    def get_capabilities(self, obj: IncomingPhoneNumber) -> dict[str, bool]:
        return {"voice": True, "sms": True, "mms": False, "fax": False}

    def get_uri(self, obj: IncomingPhoneNumber) -> str:
        return f"{account_path(make_sid('AC', obj.account_id))}/IncomingPhoneNumbers/{obj.sid}.json"

    def get_api_version(self, obj: IncomingPhoneNumber) -> str:
        return "2010-04-01"

    def get_status(self, obj: IncomingPhoneNumber) -> str:
        return "in-use"

    def get_origin(self, obj: IncomingPhoneNumber) -> str:
        return "switchboard"

    def get_subresource_uris(self, obj: IncomingPhoneNumber) -> dict[str, str]:
        return {"assigned_add_ons": self.get_uri(obj).replace(".json", "/AssignedAddOns.json")}
