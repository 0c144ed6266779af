"""IncomingPhoneNumbers: `/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers[/{Sid}].json`."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import TwilioView
from numbering.api.serializers import NumberCreateInput, NumberOutput, NumberSettingsInput
from numbering.models import IncomingPhoneNumber
from numbering.services import number_create, number_delete, number_update


class NumberViewBase(TwilioView):
    model = IncomingPhoneNumber
    list_key = "incoming_phone_numbers"
    output_serializer = NumberOutput


class NumberListView(NumberViewBase):
    @extend_schema(operation_id="listIncomingPhoneNumbers", responses=NumberOutput(many=True))
    def get(self, request: Request, account_sid: str) -> Response:
        numbers = self.scoped()
        if phone := request.query_params.get("PhoneNumber"):
            numbers = numbers.filter(phone_number__contains=phone.replace("*", "").strip())
        if name := request.query_params.get("FriendlyName"):
            numbers = numbers.filter(friendly_name=name)
        return self.render_page(request, numbers)

    @extend_schema(
        operation_id="createIncomingPhoneNumber", request=NumberCreateInput, responses={201: NumberOutput}
    )
    def post(self, request: Request, account_sid: str) -> Response:
        data = self.validated(NumberCreateInput, request)
        data.pop("area_code", None)
        number = number_create(account=self.tenant.account, actor=self.tenant.actor, **data)
        return self.render_one(number, status=201)


class NumberDetailView(NumberViewBase):
    @extend_schema(operation_id="fetchIncomingPhoneNumber", responses=NumberOutput)
    def get(self, request: Request, account_sid: str, sid: str) -> Response:
        return self.render_one(self.get_object(sid))

    @extend_schema(
        operation_id="updateIncomingPhoneNumber", request=NumberSettingsInput, responses=NumberOutput
    )
    def post(self, request: Request, account_sid: str, sid: str) -> Response:
        number = self.get_object(sid)
        changes = self.validated(NumberSettingsInput, request, partial=True)
        return self.render_one(number_update(number=number, actor=self.tenant.actor, **changes))

    @extend_schema(operation_id="deleteIncomingPhoneNumber", responses={204: None})
    def delete(self, request: Request, account_sid: str, sid: str) -> Response:
        number_delete(number=self.get_object(sid), actor=self.tenant.actor)
        return Response(status=204)
