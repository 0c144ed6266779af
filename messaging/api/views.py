"""Messages: `/2010-04-01/Accounts/{AccountSid}/Messages[/{Sid}].json`, and a message's Media."""

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import TwilioView
from core.errors import not_found
from core.filters import date_filters, exact_filters
from core.sids import sid_to_uuid
from messaging.api.serializers import (
    MediaOutput,
    MessageCreateInput,
    MessageOutput,
    MessageUpdateInput,
    message_draft,
)
from messaging.create import message_create
from messaging.models import Media, Message
from messaging.updates import message_cancel, message_delete, message_redact


class MessageViewBase(TwilioView):
    model = Message
    list_key = "messages"
    output_serializer = MessageOutput


class MessageListView(MessageViewBase):
    @extend_schema(operation_id="listMessages", responses=MessageOutput(many=True))
    def get(self, request: Request, account_sid: str) -> Response:
        messages = self.scoped().filter(
            **exact_filters(request, {"To": "to_number", "From": "from_number"}),
            **date_filters(request, "DateSent", "date_sent"),
        )
        return self.render_page(request, messages)

    @extend_schema(operation_id="createMessage", request=MessageCreateInput, responses={201: MessageOutput})
    def post(self, request: Request, account_sid: str) -> Response:
        data = self.validated(MessageCreateInput, request)
        message = message_create(
            account=self.tenant.account, draft=message_draft(data, actor=self.tenant.actor)
        )
        return self.render_one(message, status=201)


class MessageDetailView(MessageViewBase):
    @extend_schema(operation_id="fetchMessage", responses=MessageOutput)
    def get(self, request: Request, account_sid: str, sid: str) -> Response:
        return self.render_one(self.get_object(sid))

    @extend_schema(operation_id="updateMessage", request=MessageUpdateInput, responses=MessageOutput)
    def post(self, request: Request, account_sid: str, sid: str) -> Response:
        message = self.get_object(sid)
        data = self.validated(MessageUpdateInput, request)
        if "status" in data:
            return self.render_one(message_cancel(message=message, actor=self.tenant.actor))
        return self.render_one(message_redact(message=message, actor=self.tenant.actor))

    @extend_schema(operation_id="deleteMessage", responses={204: None})
    def delete(self, request: Request, account_sid: str, sid: str) -> Response:
        message_delete(message=self.get_object(sid), actor=self.tenant.actor)
        return Response(status=204)


class MediaViewBase(TwilioView):
    model = Media
    list_key = "media_list"
    output_serializer = MediaOutput


class MediaListView(MediaViewBase):
    @extend_schema(operation_id="listMedia", responses=MediaOutput(many=True))
    def get(self, request: Request, account_sid: str, message_sid: str) -> Response:
        message_id = sid_to_uuid(message_sid, Message.SID_PREFIX)
        media = self.scoped().filter(message_id=message_id) if message_id else self.scoped().none()
        return self.render_page(request, media.filter(**date_filters(request, "DateCreated", "date_created")))


class MediaDetailView(MediaViewBase):
    @extend_schema(operation_id="fetchMedia", responses=MediaOutput)
    def get(self, request: Request, account_sid: str, message_sid: str, sid: str) -> Response:
        media = self.get_object(sid)
        if media.message_id != sid_to_uuid(message_sid, Message.SID_PREFIX):
            raise not_found(request.path)
        return self.render_one(media)
