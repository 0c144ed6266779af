"""Input and output shapes of a call's Streams resource (`…/Calls/{CallSid}/Streams[/{Sid}].json`)."""

from typing import Any

from rest_framework import serializers

from core.api import RFC2822Field, SidField, account_path
from core.error_codes import ErrorCode
from core.fields import CallbackUrlField, HttpMethodField
from core.sids import make_sid
from streams.models import Stream
from streams.services import MAX_PARAMETERS


class StreamCreateInput(serializers.Serializer):
    url = serializers.CharField(max_length=2048)
    name = serializers.CharField(max_length=256, default="")
    track = serializers.ChoiceField(choices=Stream.Track.choices, default=Stream.Track.INBOUND)
    status_callback = CallbackUrlField(default="")
    status_callback_method = HttpMethodField(default="POST")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """`ParameterN.Name` / `ParameterN.Value` (N up to 99) become `parameters`, in N's order."""
        parameters = {}
        for n in range(1, MAX_PARAMETERS + 1):
            name = self.initial_data.get(f"parameter{n}.name")
            if name:
                parameters[name] = self.initial_data.get(f"parameter{n}.value", "")
        if any(key.startswith(f"parameter{MAX_PARAMETERS + 1}.") for key in self.initial_data):
            raise serializers.ValidationError(
                {"parameters": f"At most {MAX_PARAMETERS} parameters"}, code=str(ErrorCode.INVALID_PARAMETER)
            )
        return {**attrs, "parameters": parameters}


class StreamUpdateInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=[Stream.Status.STOPPED])


class StreamOutput(serializers.Serializer):
    sid = serializers.CharField()
    account_sid = SidField("AC", source="account_id")
    call_sid = SidField("CA", source="call_id")
    name = serializers.CharField()
    status = serializers.CharField()
    date_updated = RFC2822Field()
    uri = serializers.SerializerMethodField()

    def get_uri(self, stream: Stream) -> str:
        account_sid = make_sid("AC", stream.account_id)
        call_sid = make_sid("CA", stream.call_id)
        return f"{account_path(account_sid)}/Calls/{call_sid}/Streams/{stream.sid}.json"
