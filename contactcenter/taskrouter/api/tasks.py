"""Tasks and their reservations."""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from contactcenter.taskrouter import expressions
from contactcenter.taskrouter.api.base import WorkspaceView
from contactcenter.taskrouter.api.inputs import ReservationUpdateInput, TaskCreateInput, TaskUpdateInput
from contactcenter.taskrouter.api.records import ReservationOutput, TaskOutput
from contactcenter.taskrouter.api.reservations import ReservationDetailBase, reservations_filtered
from contactcenter.taskrouter.models import Reservation, Task, TaskChannel, TaskQueue, Workflow
from contactcenter.taskrouter.task_lifecycle import task_create, task_delete, task_update
from contactcenter.taskrouter.workspaces import invalid
from core.filters import exact_filters
from core.paging import Keyset
from core.sids import sid_to_uuid

FIELDS = {"DateCreated": "date_created", "Priority": "priority", "VirtualStartTime": "age_anchor_at"}
MAX_EVALUATED = 10_000  # tasks an EvaluateTaskAttributes filter reads; narrow it with the others


def ordering(text: str) -> Keyset[Task]:
    """Twilio's `Ordering` (`Priority:desc,DateCreated:desc`) as the pager's keyset. Its keysets run
    in one direction, so every attribute must be sorted the same way."""
    fields, directions = [], set()
    for part in text.split(","):
        name, _, direction = part.strip().partition(":")
        if name not in FIELDS or direction not in ("asc", "desc"):
            raise invalid(
                f"Ordering {text} is not supported: DateCreated, Priority or VirtualStartTime, :asc or :desc"
            )
        fields.append(FIELDS[name])
        directions.add(direction)
    if len(directions) > 1:
        raise invalid(f"Ordering {text} is not supported: sort every attribute the same way")
    return Keyset(Task, (*fields, "id"), descending=directions == {"desc"})


def evaluated(tasks: QuerySet, text: str) -> QuerySet:
    """Tasks whose attributes satisfy `text` (`EvaluateTaskAttributes`)."""
    try:
        expression = expressions.parse(text)
    except expressions.ExpressionError as exc:
        raise invalid(f"Invalid EvaluateTaskAttributes '{text}': {exc}") from exc
    ids = [
        pk
        for pk, attributes in tasks.values_list("id", "attributes_json")[:MAX_EVALUATED]
        if expression.evaluate({expressions.BARE: attributes, "task": attributes})
    ]
    return tasks.filter(id__in=ids)


class TaskViewBase(WorkspaceView):
    model = Task
    list_key = "tasks"
    output_serializer = TaskOutput

    def scoped(self) -> QuerySet:
        return super().scoped().select_related("task_queue", "workflow", "task_channel")


class TaskListView(TaskViewBase):
    @extend_schema(operation_id="listTasks", responses=TaskOutput(many=True))
    def get(self, request: Request, workspace_sid: str) -> Response:
        rows = self.scoped().filter(
            **exact_filters(
                request,
                {"TaskQueueName": "task_queue__friendly_name", "WorkflowName": "workflow__friendly_name"},
            )
        )
        params = request.query_params
        statuses = [s for value in params.getlist("AssignmentStatus") for s in value.split(",") if s]
        if statuses:
            rows = rows.filter(status__in=statuses)
        if queue_sid := params.get("TaskQueueSid"):
            rows = rows.filter(task_queue=self.child(TaskQueue, queue_sid))
        if workflow_sid := params.get("WorkflowSid"):
            rows = rows.filter(workflow=self.child(Workflow, workflow_sid))
        if channel := params.get("TaskChannel"):
            by_sid = sid_to_uuid(channel, TaskChannel.SID_PREFIX)
            rows = (
                rows.filter(task_channel_id=by_sid)
                if by_sid
                else rows.filter(task_channel__unique_name=channel)
            )
        if expression := params.get("EvaluateTaskAttributes"):
            rows = evaluated(rows, expression)
        return self.render_page(request, rows, ordering(params.get("Ordering") or "DateCreated:desc"))

    @extend_schema(operation_id="createTask", request=TaskCreateInput, responses={201: TaskOutput})
    def post(self, request: Request, workspace_sid: str) -> Response:
        data = self.validated(TaskCreateInput, request)
        task = task_create(
            workspace=self.workspace,
            workflow_sid=data.get("workflow_sid"),
            attributes=data["attributes"],
            priority=data.get("priority"),
            timeout=data.get("timeout"),
            task_channel=data.get("task_channel"),
            actor=self.tenant.actor,
        )
        # As stored, in this request's transaction: its queue, workflow and channel are loaded.
        return self.render_one(task, status=201)


class TaskDetailView(TaskViewBase):
    @extend_schema(operation_id="fetchTask", responses=TaskOutput)
    def get(self, request: Request, workspace_sid: str, sid: str) -> Response:
        return self.render_one(self.get_object(sid))

    @extend_schema(operation_id="updateTask", request=TaskUpdateInput, responses=TaskOutput)
    def post(self, request: Request, workspace_sid: str, sid: str) -> Response:
        task = self.get_object(sid)
        changes = self.validated(TaskUpdateInput, request)
        task_update(task=task, actor=self.tenant.actor, **changes)
        return self.render_one(self.get_object(sid))

    @extend_schema(operation_id="deleteTask", responses={204: None})
    def delete(self, request: Request, workspace_sid: str, sid: str) -> Response:
        task_delete(task=self.get_object(sid), actor=self.tenant.actor)
        return Response(status=204)


class TaskReservationViewBase(WorkspaceView):
    model = Reservation
    list_key = "reservations"
    output_serializer = ReservationOutput

    def scoped(self) -> QuerySet:
        return super().scoped().filter(task=self.child(Task, self.kwargs["task_sid"]))


class TaskReservationListView(TaskReservationViewBase):
    @extend_schema(operation_id="listTaskReservations", responses=ReservationOutput(many=True))
    def get(self, request: Request, workspace_sid: str, task_sid: str) -> Response:
        return self.render_page(request, reservations_filtered(request, self.scoped()))


class TaskReservationDetailView(TaskReservationViewBase, ReservationDetailBase):
    @extend_schema(operation_id="fetchTaskReservation", responses=ReservationOutput)
    def get(self, request: Request, workspace_sid: str, task_sid: str, sid: str) -> Response:
        return self.fetch(sid)

    @extend_schema(
        operation_id="updateTaskReservation", request=ReservationUpdateInput, responses=ReservationOutput
    )
    def post(self, request: Request, workspace_sid: str, task_sid: str, sid: str) -> Response:
        return self.update(request, sid)
