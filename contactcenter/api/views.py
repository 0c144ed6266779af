"""The Queues resource (`/2010-04-01/Accounts/{AccountSid}/Queues[/{Sid}].json`) and its Members
(`…/Members[/{CallSid or Front}].json`, where an update dequeues the caller into new TwiML)."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from contactcenter.api.serializers import (
    MemberDequeueInput,
    MemberOutput,
    QueueCreateInput,
    QueueOutput,
    QueueUpdateInput,
)
from contactcenter.members import queue_member_dequeue
from contactcenter.models import Queue, QueueMember
from contactcenter.queues import queue_create, queue_delete, queue_update
from contactcenter.selectors import queues_with_stats, waiting_members
from core.api import TwilioView
from core.errors import not_found
from core.paging import Keyset
from core.sids import sid_to_uuid

FRONT = "Front"
IN_LINE: Keyset[Any] = Keyset(QueueMember, descending=False)  # members page in position order


class QueueViewBase(TwilioView):
    model = Queue
    list_key = "queues"
    output_serializer = QueueOutput

    def scoped(self) -> QuerySet:
        return queues_with_stats(super().scoped())


class QueueListView(QueueViewBase):
    @extend_schema(operation_id="listQueues", responses=QueueOutput(many=True))
    def get(self, request: Request, account_sid: str) -> Response:
        return self.render_page(request, self.scoped())

    @extend_schema(operation_id="createQueue", request=QueueCreateInput, responses={201: QueueOutput})
    def post(self, request: Request, account_sid: str) -> Response:
        data = self.validated(QueueCreateInput, request)
        queue = queue_create(
            account=self.tenant.account,
            actor=self.tenant.actor,
            friendly_name=data["friendly_name"],
            max_size=data.get("max_size"),
        )
        return self.render_one(self.get_object(queue.sid), 201)


class QueueDetailView(QueueViewBase):
    @extend_schema(operation_id="fetchQueue", responses=QueueOutput)
    def get(self, request: Request, account_sid: str, sid: str) -> Response:
        return self.render_one(self.get_object(sid))

    @extend_schema(operation_id="updateQueue", request=QueueUpdateInput, responses=QueueOutput)
    def post(self, request: Request, account_sid: str, sid: str) -> Response:
        queue = self.get_object(sid)
        data = self.validated(QueueUpdateInput, request)
        queue_update(
            queue=queue,
            actor=self.tenant.actor,
            friendly_name=data.get("friendly_name"),
            max_size=data.get("max_size"),
        )
        return self.render_one(self.get_object(sid))

    @extend_schema(operation_id="deleteQueue", responses={204: None})
    def delete(self, request: Request, account_sid: str, sid: str) -> Response:
        queue_delete(queue=self.get_object(sid), actor=self.tenant.actor)
        return Response(status=204)


class MemberViewBase(TwilioView):
    model = Queue
    list_key = "queue_members"
    output_serializer = MemberOutput

    def members(self, queue_sid: str) -> QuerySet:
        return waiting_members(self.get_object(queue_sid))

    def member(self, queue_sid: str, call_sid: str) -> QueueMember:
        members = self.members(queue_sid)
        if call_sid == FRONT:
            found = members.order_by("date_created", "id").first()
        else:
            call_id = sid_to_uuid(call_sid, "CA")
            found = members.filter(call_id=call_id).first() if call_id else None
        if found is None:
            raise not_found(self.request.path)
        return found


class MemberListView(MemberViewBase):
    @extend_schema(operation_id="listQueueMembers", responses=MemberOutput(many=True))
    def get(self, request: Request, account_sid: str, queue_sid: str) -> Response:
        return self.render_page(request, self.members(queue_sid), IN_LINE)


class MemberDetailView(MemberViewBase):
    @extend_schema(operation_id="fetchQueueMember", responses=MemberOutput)
    def get(self, request: Request, account_sid: str, queue_sid: str, call_sid: str) -> Response:
        return self.render_one(self.member(queue_sid, call_sid))

    @extend_schema(operation_id="updateQueueMember", request=MemberDequeueInput, responses=MemberOutput)
    def post(self, request: Request, account_sid: str, queue_sid: str, call_sid: str) -> Response:
        member = self.member(queue_sid, call_sid)
        data = self.validated(MemberDequeueInput, request)
        dequeued = queue_member_dequeue(
            member=member, actor=self.tenant.actor, url=data["url"], method=data["method"]
        )
        return self.render_one(dequeued)
