"""Workers, their channels (capacity per task channel) and their reservations."""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from contactcenter.taskrouter import expressions
from contactcenter.taskrouter.api.base import WorkspaceView
from contactcenter.taskrouter.api.inputs import (
    ReservationUpdateInput,
    WorkerChannelUpdateInput,
    WorkerCreateInput,
    WorkerUpdateInput,
)
from contactcenter.taskrouter.api.records import ReservationOutput, WorkerChannelOutput, WorkerOutput
from contactcenter.taskrouter.api.reservations import ReservationDetailBase, reservations_filtered
from contactcenter.taskrouter.models import (
    Activity,
    Reservation,
    TaskChannel,
    TaskQueue,
    TaskQueueWorker,
    Worker,
    WorkerChannel,
)
from contactcenter.taskrouter.workers import (
    worker_channel_update,
    worker_create,
    worker_delete,
    worker_update,
)
from contactcenter.taskrouter.workspaces import invalid
from core.filters import exact_filters
from core.paging import Keyset
from core.sids import sid_to_uuid
from core.v1 import query_boolean

ORDERINGS = {
    "DateCreated:desc": Keyset(Worker),
    "DateCreated:asc": Keyset(Worker, descending=False),
    "DateStatusChanged:desc": Keyset(Worker, ("date_status_changed", "id")),
    "DateStatusChanged:asc": Keyset(Worker, ("date_status_changed", "id"), descending=False),
}


def matching(workers: QuerySet, text: str) -> QuerySet:
    """The workers whose attributes satisfy `text` (a TargetWorkersExpression), evaluated here as
    routing evaluates a queue's `target_workers`; a bad expression is 20001."""
    try:
        expression = expressions.parse(text)
    except expressions.ExpressionError as exc:
        raise invalid(f"Invalid TargetWorkersExpression '{text}': {exc}") from exc
    ids = [
        pk
        for pk, attributes in workers.values_list("id", "attributes_json").iterator()
        if expression.evaluate({expressions.BARE: attributes})
    ]
    return workers.filter(id__in=ids)


class WorkerViewBase(WorkspaceView):
    model = Worker
    list_key = "workers"
    output_serializer = WorkerOutput

    def scoped(self) -> QuerySet:
        return super().scoped().select_related("activity")


class WorkerListView(WorkerViewBase):
    @extend_schema(operation_id="listWorkers", responses=WorkerOutput(many=True))
    def get(self, request: Request, workspace_sid: str) -> Response:
        rows = self.scoped().filter(
            **exact_filters(
                request, {"FriendlyName": "friendly_name", "ActivityName": "activity__friendly_name"}
            )
        )
        params = request.query_params
        if activity_sid := params.get("ActivitySid"):
            rows = rows.filter(activity=self.child(Activity, activity_sid))
        available = query_boolean(request, "Available")
        if available is not None:
            rows = rows.filter(available=available)
        queue_sid, queue_name = params.get("TaskQueueSid"), params.get("TaskQueueName")
        if queue_sid or queue_name:
            queues = TaskQueue.objects.filter(workspace=self.workspace)
            queue = (
                self.child(TaskQueue, queue_sid)
                if queue_sid
                else queues.filter(friendly_name=queue_name).first()
            )
            members = TaskQueueWorker.objects.filter(task_queue=queue).values("worker_id")
            rows = rows.filter(id__in=members)
        if expression := params.get("TargetWorkersExpression"):
            rows = matching(rows, expression)
        ordering = params.get("Ordering") or "DateCreated:desc"
        if ordering not in ORDERINGS:
            raise invalid(f"Ordering {ordering} is not supported ({', '.join(ORDERINGS)})")
        return self.render_page(request, rows, ORDERINGS[ordering])

    @extend_schema(operation_id="createWorker", request=WorkerCreateInput, responses={201: WorkerOutput})
    def post(self, request: Request, workspace_sid: str) -> Response:
        data = self.validated(WorkerCreateInput, request)
        worker = worker_create(
            workspace=self.workspace,
            friendly_name=data["friendly_name"],
            attributes=data["attributes"],
            activity_sid=data.get("activity_sid"),
            actor=self.tenant.actor,
        )
        return self.render_one(self.get_object(worker.sid), status=201)


class WorkerDetailView(WorkerViewBase):
    @extend_schema(operation_id="fetchWorker", responses=WorkerOutput)
    def get(self, request: Request, workspace_sid: str, sid: str) -> Response:
        return self.render_one(self.get_object(sid))

    @extend_schema(operation_id="updateWorker", request=WorkerUpdateInput, responses=WorkerOutput)
    def post(self, request: Request, workspace_sid: str, sid: str) -> Response:
        worker = self.get_object(sid)
        changes = self.validated(WorkerUpdateInput, request)
        worker_update(worker=worker, actor=self.tenant.actor, **changes)
        return self.render_one(self.get_object(sid))

    @extend_schema(operation_id="deleteWorker", responses={204: None})
    def delete(self, request: Request, workspace_sid: str, sid: str) -> Response:
        worker_delete(worker=self.get_object(sid), actor=self.tenant.actor)
        return Response(status=204)


class WorkerChannelViewBase(WorkspaceView):
    model = WorkerChannel
    list_key = "channels"
    output_serializer = WorkerChannelOutput

    def scoped(self) -> QuerySet:
        worker = self.child(Worker, self.kwargs["worker_sid"])
        return super().scoped().filter(worker=worker).select_related("task_channel")

    def get_object(self, sid: str) -> WorkerChannel:
        """By the channel's WC SID, by its task channel's TC SID, or by the unique name (`voice`), as
        Twilio's worker channel paths allow."""
        rows = self.scoped()
        if sid.startswith("TC"):
            found = rows.filter(task_channel_id=sid_to_uuid(sid, TaskChannel.SID_PREFIX)).first()
        elif not sid.startswith(WorkerChannel.SID_PREFIX):
            found = rows.filter(task_channel__unique_name=sid).first()
        else:
            return super().get_object(sid)
        if found is None:
            return super().get_object(sid)
        return found


class WorkerChannelListView(WorkerChannelViewBase):
    @extend_schema(operation_id="listWorkerChannels", responses=WorkerChannelOutput(many=True))
    def get(self, request: Request, workspace_sid: str, worker_sid: str) -> Response:
        return self.render_page(request, self.scoped())


class WorkerChannelDetailView(WorkerChannelViewBase):
    @extend_schema(operation_id="fetchWorkerChannel", responses=WorkerChannelOutput)
    def get(self, request: Request, workspace_sid: str, worker_sid: str, sid: str) -> Response:
        return self.render_one(self.get_object(sid))

    @extend_schema(
        operation_id="updateWorkerChannel", request=WorkerChannelUpdateInput, responses=WorkerChannelOutput
    )
    def post(self, request: Request, workspace_sid: str, worker_sid: str, sid: str) -> Response:
        channel = self.get_object(sid)
        changes = self.validated(WorkerChannelUpdateInput, request)
        worker_channel_update(worker_channel=channel, actor=self.tenant.actor, **changes)
        return self.render_one(self.get_object(sid))


class WorkerReservationViewBase(WorkspaceView):
    model = Reservation
    list_key = "reservations"
    output_serializer = ReservationOutput

    def scoped(self) -> QuerySet:
        return super().scoped().filter(worker=self.child(Worker, self.kwargs["worker_sid"]))


class WorkerReservationListView(WorkerReservationViewBase):
    @extend_schema(operation_id="listWorkerReservations", responses=ReservationOutput(many=True))
    def get(self, request: Request, workspace_sid: str, worker_sid: str) -> Response:
        return self.render_page(request, reservations_filtered(request, self.scoped()))


class WorkerReservationDetailView(WorkerReservationViewBase, ReservationDetailBase):
    @extend_schema(operation_id="fetchWorkerReservation", responses=ReservationOutput)
    def get(self, request: Request, workspace_sid: str, worker_sid: str, sid: str) -> Response:
        return self.fetch(sid)

    @extend_schema(
        operation_id="updateWorkerReservation", request=ReservationUpdateInput, responses=ReservationOutput
    )
    def post(self, request: Request, workspace_sid: str, worker_sid: str, sid: str) -> Response:
        return self.update(request, sid)
