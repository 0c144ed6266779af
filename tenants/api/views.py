"""Accounts (`/2010-04-01/Accounts[/{Sid}].json`), Keys (`…/Accounts/{AccountSid}/Keys[/{Sid}].json`)
and the auth token's rotation (accounts.twilio.com's `/v1/AuthTokens/Secondary` and `/Promote`)."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import TwilioView
from core.error_codes import ErrorCode
from core.errors import TwilioError, not_found
from core.sids import sid_to_uuid
from tenants.api.serializers import (
    AccountCreateInput,
    AccountOutput,
    AccountUpdateInput,
    AuthTokenPromotionOutput,
    KeyInput,
    KeyOutput,
    NewKeyOutput,
    SecondaryAuthTokenOutput,
)
from tenants.models import Account, ApiKey
from tenants.services import (
    account_update,
    api_key_create,
    api_key_delete,
    api_key_update,
    auth_token_promote,
    auth_token_secondary_create,
    auth_token_secondary_delete,
    subaccount_create,
)


class AccountCredentialsOnly(TwilioView):
    """Like Twilio's standard API keys, ours cannot manage accounts or keys: that needs the auth token."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if self.tenant.api_key is not None:
            raise TwilioError(
                ErrorCode.PERMISSION_DENIED,
                "API keys cannot manage accounts or keys; use the account's auth token",
                403,
            )


class AccountListView(AccountCredentialsOnly):
    list_key = "accounts"
    output_serializer = AccountOutput

    def scoped(self) -> QuerySet:
        return Account.objects.filter(id=self.tenant.principal.id) | Account.objects.filter(
            parent_id=self.tenant.principal.id
        )

    @extend_schema(operation_id="listAccounts", responses=AccountOutput(many=True))
    def get(self, request: Request) -> Response:
        accounts = self.scoped()
        if name := request.query_params.get("FriendlyName"):
            accounts = accounts.filter(friendly_name=name)
        if status := request.query_params.get("Status"):
            accounts = accounts.filter(status=status)
        return self.render_page(request, accounts)

    @extend_schema(operation_id="createAccount", request=AccountCreateInput, responses={201: AccountOutput})
    def post(self, request: Request) -> Response:
        data = self.validated(AccountCreateInput, request)
        parent = self.tenant.principal
        name = data.get("friendly_name") or f"SubAccount Created at {parent.date_created:%Y-%m-%d %H:%M %p}"
        return self.render_one(
            subaccount_create(parent=parent, friendly_name=name, actor=self.tenant.actor), 201
        )


class AccountDetailView(AccountCredentialsOnly):
    output_serializer = AccountOutput
    allows_inactive_account = True

    def get_object(self, sid: str) -> Account:
        # The middleware has already resolved and authorised the account in the URL.
        if sid_to_uuid(sid, "AC") != self.tenant.account.id:
            raise not_found(self.request.path)
        return self.tenant.account

    @extend_schema(operation_id="fetchAccount", responses=AccountOutput)
    def get(self, request: Request, sid: str) -> Response:
        return self.render_one(self.get_object(sid))

    @extend_schema(operation_id="updateAccount", request=AccountUpdateInput, responses=AccountOutput)
    def post(self, request: Request, sid: str) -> Response:
        account = self.get_object(sid)
        data = self.validated(AccountUpdateInput, request)
        updated = account_update(
            account=account,
            principal=self.tenant.principal,
            actor=self.tenant.actor,
            friendly_name=data.get("friendly_name"),
            status=data.get("status"),
        )
        return self.render_one(updated)


class KeyViewBase(AccountCredentialsOnly):
    model = ApiKey
    list_key = "keys"
    output_serializer = KeyOutput


class KeyListView(KeyViewBase):
    @extend_schema(operation_id="listKeys", responses=KeyOutput(many=True))
    def get(self, request: Request, account_sid: str) -> Response:
        return self.render_page(request, self.scoped())

    @extend_schema(operation_id="createKey", request=KeyInput, responses={201: NewKeyOutput})
    def post(self, request: Request, account_sid: str) -> Response:
        data = self.validated(KeyInput, request)
        issued = api_key_create(
            account=self.tenant.account, friendly_name=data["friendly_name"], actor=self.tenant.actor
        )
        return Response(NewKeyOutput(issued.key, context={"secret": issued.secret}).data, status=201)


class KeyDetailView(KeyViewBase):
    @extend_schema(operation_id="fetchKey", responses=KeyOutput)
    def get(self, request: Request, account_sid: str, sid: str) -> Response:
        return self.render_one(self.get_object(sid))

    @extend_schema(operation_id="updateKey", request=KeyInput, responses=KeyOutput)
    def post(self, request: Request, account_sid: str, sid: str) -> Response:
        key = self.get_object(sid)
        data = self.validated(KeyInput, request)
        return self.render_one(
            api_key_update(key=key, friendly_name=data["friendly_name"], actor=self.tenant.actor)
        )

    @extend_schema(operation_id="deleteKey", responses={204: None})
    def delete(self, request: Request, account_sid: str, sid: str) -> Response:
        api_key_delete(key=self.get_object(sid), actor=self.tenant.actor)
        return Response(status=204)


class SecondaryAuthTokenView(AccountCredentialsOnly):
    """The credentials' own account's secondary auth token (the account is never in the URL)."""

    @extend_schema(
        operation_id="createSecondaryAuthToken", request=None, responses={201: SecondaryAuthTokenOutput}
    )
    def post(self, request: Request) -> Response:
        auth_token_secondary_create(account=self.tenant.account, actor=self.tenant.actor)
        return Response(SecondaryAuthTokenOutput(self.tenant.account).data, status=201)

    @extend_schema(operation_id="deleteSecondaryAuthToken", responses={204: None})
    def delete(self, request: Request) -> Response:
        auth_token_secondary_delete(account=self.tenant.account, actor=self.tenant.actor)
        return Response(status=204)


class AuthTokenPromotionView(AccountCredentialsOnly):
    @extend_schema(operation_id="updateAuthTokenPromotion", request=None, responses=AuthTokenPromotionOutput)
    def post(self, request: Request) -> Response:
        auth_token_promote(account=self.tenant.account, actor=self.tenant.actor)
        return Response(AuthTokenPromotionOutput(self.tenant.account).data)
