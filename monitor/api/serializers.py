"""Output shape of the Notifications resource (Twilio's error log)."""

from rest_framework import serializers

from core.api import RFC2822Field, SidField, account_path
from core.sids import make_sid
from monitor.models import Notification


class NotificationOutput(serializers.ModelSerializer):
    account_sid = SidField("AC", source="account_id")
    call_sid = serializers.SerializerMethodField()
    log = serializers.SerializerMethodField()
    error_code = serializers.SerializerMethodField()
    more_info = serializers.SerializerMethodField()
    message_date = RFC2822Field(source="date_created")
    date_created = RFC2822Field()
    date_updated = RFC2822Field()
    api_version = serializers.SerializerMethodField()
    uri = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = [
            "sid",
            "account_sid",
            "call_sid",
            "api_version",
            "log",
            "error_code",
            "more_info",
            "message_text",
            "message_date",
            "request_method",
            "request_url",
            "request_variables",
            "response_body",
            "response_headers",
            "date_created",
            "date_updated",
            "uri",
        ]

    def get_call_sid(self, obj: Notification) -> str | None:
        return obj.call_sid or None

    def get_log(self, obj: Notification) -> str:
        return str(obj.log)

    def get_error_code(self, obj: Notification) -> str:
        return str(obj.error_code)

    def get_more_info(self, obj: Notification) -> str:
        return f"https://www.twilio.com/docs/errors/{obj.error_code}"

    def get_api_version(self, obj: Notification) -> str:
        return "2010-04-01"

    def get_uri(self, obj: Notification) -> str:
        return f"{account_path(make_sid('AC', obj.account_id))}/Notifications/{obj.sid}.json"
