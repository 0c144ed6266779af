"""Input and output shapes of the Accounts, Keys and auth token resources."""

from django.conf import settings
from rest_framework import serializers

from core.api import RFC2822Field, SidField, account_path
from core.parsers import snake_case
from tenants.models import Account, ApiKey


class AccountCreateInput(serializers.Serializer):
    friendly_name = serializers.CharField(required=False, allow_blank=True, max_length=64)


class AccountUpdateInput(serializers.Serializer):
    friendly_name = serializers.CharField(required=False, allow_blank=True, max_length=64)
    status = serializers.ChoiceField(choices=Account.Status.choices, required=False)


class AccountOutput(serializers.ModelSerializer):
    auth_token = serializers.CharField(read_only=True)
    owner_account_sid = serializers.SerializerMethodField()
    date_created = RFC2822Field()
    date_updated = RFC2822Field()
    uri = serializers.SerializerMethodField()
    subresource_uris = serializers.SerializerMethodField()

    class Meta:
        model = Account
        fields = [
            "sid",
            "owner_account_sid",
            "friendly_name",
            "status",
            "type",
            "auth_token",
            "date_created",
            "date_updated",
            "uri",
            "subresource_uris",
        ]

    def get_owner_account_sid(self, obj: Account) -> str:
        return "AC" + (obj.parent_id or obj.id).hex

    def get_uri(self, obj: Account) -> str:
        return f"{account_path(obj.sid)}.json"

    def get_subresource_uris(self, obj: Account) -> dict[str, str]:
        base = account_path(obj.sid)
        names = ["IncomingPhoneNumbers", "Keys", "Notifications", "Calls", "Messages", "Recordings"]
        return {snake_case(name): f"{base}/{name}.json" for name in names}


class KeyInput(serializers.Serializer):
    friendly_name = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")


class KeyOutput(serializers.ModelSerializer):
    account_sid = SidField("AC", source="account_id")
    date_created = RFC2822Field()
    date_updated = RFC2822Field()

    class Meta:
        model = ApiKey
        fields = ["sid", "account_sid", "friendly_name", "date_created", "date_updated"]


class NewKeyOutput(KeyOutput):
    """Only the response to creating a key carries its secret; it is never shown again."""

    secret = serializers.SerializerMethodField()

    class Meta(KeyOutput.Meta):
        fields = [*KeyOutput.Meta.fields, "secret"]

    def get_secret(self, obj: ApiKey) -> str:
        return str(self.context["secret"])


# accounts.twilio.com's resources: ISO 8601 dates and absolute URLs, as Twilio's v1 APIs write them.
AUTH_TOKENS_PATH = "/accounts/v1/AuthTokens"
ISO_8601 = "%Y-%m-%dT%H:%M:%SZ"  # UTC, whole seconds: what Twilio's SDKs parse


def _v1_url(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{path}"


class SecondaryAuthTokenOutput(serializers.Serializer):
    """https://www.twilio.com/docs/iam/api/secondary_authtoken"""

    account_sid = serializers.CharField(source="sid")
    date_created = serializers.DateTimeField(source="secondary_auth_token_created_at", format=ISO_8601)
    date_updated = serializers.DateTimeField(source="secondary_auth_token_created_at", format=ISO_8601)
    secondary_auth_token = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    def get_secondary_auth_token(self, obj: Account) -> str | None:
        return obj.secondary_auth_token

    def get_url(self, obj: Account) -> str:
        return _v1_url(f"{AUTH_TOKENS_PATH}/Secondary")


class AuthTokenPromotionOutput(serializers.Serializer):
    """https://www.twilio.com/docs/iam/api/authtoken"""

    account_sid = serializers.CharField(source="sid")
    auth_token = serializers.SerializerMethodField()
    date_created = serializers.DateTimeField(format=ISO_8601)
    date_updated = serializers.DateTimeField(format=ISO_8601)
    url = serializers.SerializerMethodField()

    def get_auth_token(self, obj: Account) -> str:
        return obj.auth_token

    def get_url(self, obj: Account) -> str:
        return _v1_url(f"{AUTH_TOKENS_PATH}/Promote")
