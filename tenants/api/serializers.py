"""Input and output shapes of the Accounts and Keys resources."""

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
