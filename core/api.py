"""Building blocks for the Twilio-compatible `/2010-04-01` resources.

Views subclass `TwilioView`: scoping to the request's account happens once, here, in `scoped()`,
and row-level security enforces the same rule underneath. Output serializers use the fields below so
that dates, SIDs and URIs look exactly as Twilio's do.
"""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.dates import rfc2822
from core.error_codes import ErrorCode
from core.errors import TwilioError, not_found
from core.models import TenantModel
from core.paging import Keyset, paginate
from core.sids import make_sid, sid_to_uuid

API_VERSION = "2010-04-01"


def account_path(account_sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}"


@extend_schema_field(OpenApiTypes.STR)
class RFC2822Field(serializers.Field):
    def to_representation(self, value: Any) -> str | None:
        return rfc2822(value)


@extend_schema_field(OpenApiTypes.STR)
class SidField(serializers.Field):
    """Renders a UUID column (such as `account_id`) as a SID with the given prefix."""

    def __init__(self, prefix: str, **kwargs: Any) -> None:
        self.prefix = prefix
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str | None:
        return make_sid(self.prefix, value) if value is not None else None


class TwilioBoolean(serializers.BooleanField):
    """Twilio clients send `true`, `True` or `TRUE`; compare case-insensitively. A boolean the request
    leaves out is left out (DRF reads a form's missing checkbox as false, which an API must not)."""

    default_empty_html = serializers.empty

    def to_internal_value(self, data: Any) -> bool:
        return super().to_internal_value(data.lower() if isinstance(data, str) else data)


class TwilioView(APIView):
    model: type[TenantModel]
    list_key: str
    output_serializer: type[serializers.Serializer]
    # Only the Accounts resource itself may be used while an account is suspended (to reactivate it).
    allows_inactive_account = False
    # How a list page is wrapped: the 2010 API's envelope here, the v1 one in core/v1.py.
    envelope = staticmethod(paginate)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if not self.allows_inactive_account and self.tenant.account.status != "active":
            raise TwilioError(ErrorCode.ACCOUNT_NOT_ACTIVE, "Account not active", 403)

    @property
    def tenant(self) -> Any:
        return self.request.user

    def scoped(self) -> QuerySet:
        return self.model.objects.for_account(self.tenant.account)

    def get_object(self, sid: str) -> Any:
        pk = sid_to_uuid(sid, self.model.SID_PREFIX)
        found = self.scoped().filter(id=pk).first() if pk else None
        if found is None:
            raise not_found(self.request.path)
        return found

    def render_one(self, instance: Any, status: int = 200) -> Response:
        return Response(self.output_serializer(instance).data, status=status)

    def render_page(
        self, request: Request, queryset: QuerySet, keyset: Keyset[Any] | None = None
    ) -> Response:
        """One page of `queryset` in the view's list envelope (newest first, unless `keyset` says)."""
        body = self.envelope(
            request,
            queryset,
            key=self.list_key,
            serialize=lambda rows: self.output_serializer(rows, many=True).data,
            keyset=keyset,
        )
        return Response(body)

    @staticmethod
    def validated(
        serializer_class: type[serializers.Serializer], request: Request, **kwargs: Any
    ) -> dict[str, Any]:
        serializer = serializer_class(data=request.data, **kwargs)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)


class UnknownResourceView(APIView):
    """Any other path under /2010-04-01: Twilio's 20404, after authentication like every resource."""

    schema = None  # not part of the published API

    def dispatch_unknown(self, request: Request, *args: object, **kwargs: object) -> None:
        raise not_found(request.path)

    get = post = put = patch = delete = dispatch_unknown
