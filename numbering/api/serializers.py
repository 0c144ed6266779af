"""Input and output shapes of the IncomingPhoneNumbers resource."""

from typing import Any

from rest_framework import serializers

from core.api import TwilioBoolean, account_path
from core.dates import rfc2822
from core.error_codes import ErrorCode
from core.fields import CallbackUrlField, HttpMethodField, PhoneNumberField
from core.sids import make_sid
from numbering.models import IncomingPhoneNumber
from numbering.services import NUMBER_SETTINGS


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
                f"No phone numbers found in area code {attrs['area_code']}",
                code=str(ErrorCode.NO_NUMBERS_IN_AREA_CODE),
            )
        raise serializers.ValidationError(
            "A 'PhoneNumber' or an 'AreaCode' is required to create an IncomingPhoneNumber",
            code=str(ErrorCode.INVALID_PHONE_NUMBER),
        )


NUMBER_FIELDS = ("phone_number", *NUMBER_SETTINGS)


class NumberOutput(serializers.ModelSerializer):
    """The declared fields describe the shape for the OpenAPI schema; `to_representation` builds it
    directly, because lists of 50 go through here on every page and DRF's generic path is the slow part
    of a list (bench/RESULTS.md, `bench/api`)."""

    account_sid = serializers.CharField()
    capabilities = serializers.DictField(child=serializers.BooleanField())
    date_created = serializers.CharField()
    date_updated = serializers.CharField()
    uri = serializers.CharField()
    api_version = serializers.CharField()
    status = serializers.CharField()
    origin = serializers.CharField()
    subresource_uris = serializers.DictField(child=serializers.CharField())

    class Meta:
        model = IncomingPhoneNumber
        fields = [
            "sid",
            "account_sid",
            *NUMBER_FIELDS,
            "capabilities",
            "status",
            "origin",
            "api_version",
            "date_created",
            "date_updated",
            "uri",
            "subresource_uris",
        ]

    def to_representation(self, instance: IncomingPhoneNumber) -> dict[str, Any]:
        uri = f"{account_path(make_sid('AC', instance.account_id))}/IncomingPhoneNumbers/{instance.sid}.json"
        return {
            "sid": instance.sid,
            "account_sid": make_sid("AC", instance.account_id),
            **{name: getattr(instance, name) for name in NUMBER_FIELDS},
            "capabilities": {"voice": True, "sms": True, "mms": False, "fax": False},
            "status": "in-use",
            "origin": "switchboard",
            "api_version": "2010-04-01",
            "date_created": rfc2822(instance.date_created),
            "date_updated": rfc2822(instance.date_updated),
            "uri": uri,
            "subresource_uris": {"assigned_add_ons": uri.replace(".json", "/AssignedAddOns.json")},
        }
