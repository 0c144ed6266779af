"""Workspaces and their configuration: Activities, TaskChannels, TaskQueues, Workflows."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from contactcenter.taskrouter import workspaces as services
from contactcenter.taskrouter.api.base import WorkspaceView
from contactcenter.taskrouter.api.inputs import (
    ActivityCreateInput,
    ActivityUpdateInput,
    TaskChannelCreateInput,
    TaskChannelUpdateInput,
    TaskQueueCreateInput,
    TaskQueueUpdateInput,
    WorkflowCreateInput,
    WorkflowUpdateInput,
    WorkspaceCreateInput,
    WorkspaceUpdateInput,
)
from contactcenter.taskrouter.api.records import (
    ActivityOutput,
    TaskChannelOutput,
    TaskQueueOutput,
    WorkflowOutput,
    WorkspaceOutput,
)
from contactcenter.taskrouter.models import (
    Activity,
    TaskChannel,
    TaskQueue,
    TaskQueueWorker,
    Worker,
    Workflow,
    Workspace,
)
from core.filters import exact_filters
from core.v1 import V1View, query_boolean

# Workspaces


class WorkspaceViewBase(V1View):
    model = Workspace
    list_key = "workspaces"
    output_serializer = WorkspaceOutput

    def scoped(self) -> QuerySet:
        return super().scoped().select_related("default_activity", "timeout_activity")


class WorkspaceListView(WorkspaceViewBase):
    @extend_schema(operation_id="listWorkspaces", responses=WorkspaceOutput(many=True))
    def get(self, request: Request) -> Response:
        rows = self.scoped().filter(**exact_filters(request, {"FriendlyName": "friendly_name"}))
        return self.render_page(request, rows)

    @extend_schema(
        operation_id="createWorkspace", request=WorkspaceCreateInput, responses={201: WorkspaceOutput}
    )
    def post(self, request: Request) -> Response:
        data = self.validated(WorkspaceCreateInput, request)
        workspace = services.workspace_create(account=self.tenant.account, actor=self.tenant.actor, **data)
        return self.render_one(self.get_object(workspace.sid), status=201)


class WorkspaceDetailView(WorkspaceViewBase):
    @extend_schema(operation_id="fetchWorkspace", responses=WorkspaceOutput)
    def get(self, request: Request, sid: str) -> Response:
        return self.render_one(self.get_object(sid))

    @extend_schema(operation_id="updateWorkspace", request=WorkspaceUpdateInput, responses=WorkspaceOutput)
    def post(self, request: Request, sid: str) -> Response:
        workspace = self.get_object(sid)
        changes = self.validated(WorkspaceUpdateInput, request)
        services.workspace_update(workspace=workspace, actor=self.tenant.actor, **changes)
        return self.render_one(self.get_object(sid))

    @extend_schema(operation_id="deleteWorkspace", responses={204: None})
    def delete(self, request: Request, sid: str) -> Response:
        services.workspace_delete(workspace=self.get_object(sid), actor=self.tenant.actor)
        return Response(status=204)


# Activities


class ActivityViewBase(WorkspaceView):
    model = Activity
    list_key = "activities"
    output_serializer = ActivityOutput


class ActivityListView(ActivityViewBase):
    @extend_schema(operation_id="listActivities", responses=ActivityOutput(many=True))
    def get(self, request: Request, workspace_sid: str) -> Response:
        rows = self.scoped().filter(**exact_filters(request, {"FriendlyName": "friendly_name"}))
        available = query_boolean(request, "Available")
        if available is not None:
            rows = rows.filter(available=available)
        return self.render_page(request, rows)

    @extend_schema(
        operation_id="createActivity", request=ActivityCreateInput, responses={201: ActivityOutput}
    )
    def post(self, request: Request, workspace_sid: str) -> Response:
        data = self.validated(ActivityCreateInput, request)
        activity = services.activity_create(workspace=self.workspace, actor=self.tenant.actor, **data)
        return self.render_one(activity, status=201)


class ActivityDetailView(ActivityViewBase):
    @extend_schema(operation_id="fetchActivity", responses=ActivityOutput)
    def get(self, request: Request, workspace_sid: str, sid: str) -> Response:
        return self.render_one(self.get_object(sid))

    @extend_schema(operation_id="updateActivity", request=ActivityUpdateInput, responses=ActivityOutput)
    def post(self, request: Request, workspace_sid: str, sid: str) -> Response:
        activity = self.get_object(sid)
        data = self.validated(ActivityUpdateInput, request)
        return self.render_one(services.activity_update(activity=activity, actor=self.tenant.actor, **data))

    @extend_schema(operation_id="deleteActivity", responses={204: None})
    def delete(self, request: Request, workspace_sid: str, sid: str) -> Response:
        services.activity_delete(activity=self.get_object(sid), actor=self.tenant.actor)
        return Response(status=204)


# Task channels


class TaskChannelViewBase(WorkspaceView):
    model = TaskChannel
    list_key = "channels"
    output_serializer = TaskChannelOutput

    def get_object(self, sid: str) -> Any:
        """By SID or, as Twilio allows, by unique name (`voice`)."""
        if not sid.startswith(TaskChannel.SID_PREFIX):
            found = self.scoped().filter(unique_name=sid).first()
            if found is not None:
                return found
        return super().get_object(sid)


class TaskChannelListView(TaskChannelViewBase):
    @extend_schema(operation_id="listTaskChannels", responses=TaskChannelOutput(many=True))
    def get(self, request: Request, workspace_sid: str) -> Response:
        return self.render_page(request, self.scoped())

    @extend_schema(
        operation_id="createTaskChannel", request=TaskChannelCreateInput, responses={201: TaskChannelOutput}
    )
    def post(self, request: Request, workspace_sid: str) -> Response:
        data = self.validated(TaskChannelCreateInput, request)
        channel = services.task_channel_create(workspace=self.workspace, actor=self.tenant.actor, **data)
        return self.render_one(channel, status=201)


class TaskChannelDetailView(TaskChannelViewBase):
    @extend_schema(operation_id="fetchTaskChannel", responses=TaskChannelOutput)
    def get(self, request: Request, workspace_sid: str, sid: str) -> Response:
        return self.render_one(self.get_object(sid))

    @extend_schema(
        operation_id="updateTaskChannel", request=TaskChannelUpdateInput, responses=TaskChannelOutput
    )
    def post(self, request: Request, workspace_sid: str, sid: str) -> Response:
        channel = self.get_object(sid)
        data = self.validated(TaskChannelUpdateInput, request)
        return self.render_one(services.task_channel_update(channel=channel, actor=self.tenant.actor, **data))

    @extend_schema(operation_id="deleteTaskChannel", responses={204: None})
    def delete(self, request: Request, workspace_sid: str, sid: str) -> Response:
        services.task_channel_delete(channel=self.get_object(sid), actor=self.tenant.actor)
        return Response(status=204)


# Task queues


class TaskQueueViewBase(WorkspaceView):
    model = TaskQueue
    list_key = "task_queues"
    output_serializer = TaskQueueOutput

    def scoped(self) -> QuerySet:
        return super().scoped().select_related("reservation_activity", "assignment_activity")


class TaskQueueListView(TaskQueueViewBase):
    @extend_schema(operation_id="listTaskQueues", responses=TaskQueueOutput(many=True))
    def get(self, request: Request, workspace_sid: str) -> Response:
        rows = self.scoped().filter(**exact_filters(request, {"FriendlyName": "friendly_name"}))
        if worker_sid := request.query_params.get("WorkerSid"):
            worker = self.child(Worker, worker_sid)
            rows = rows.filter(id__in=TaskQueueWorker.objects.filter(worker=worker).values("task_queue_id"))
        return self.render_page(request, rows)

    @extend_schema(
        operation_id="createTaskQueue", request=TaskQueueCreateInput, responses={201: TaskQueueOutput}
    )
    def post(self, request: Request, workspace_sid: str) -> Response:
        data = self.validated(TaskQueueCreateInput, request)
        queue = services.task_queue_create(workspace=self.workspace, actor=self.tenant.actor, **data)
        return self.render_one(self.get_object(queue.sid), status=201)


class TaskQueueDetailView(TaskQueueViewBase):
    @extend_schema(operation_id="fetchTaskQueue", responses=TaskQueueOutput)
    def get(self, request: Request, workspace_sid: str, sid: str) -> Response:
        return self.render_one(self.get_object(sid))

    @extend_schema(operation_id="updateTaskQueue", request=TaskQueueUpdateInput, responses=TaskQueueOutput)
    def post(self, request: Request, workspace_sid: str, sid: str) -> Response:
        queue = self.get_object(sid)
        changes = self.validated(TaskQueueUpdateInput, request)
        services.task_queue_update(queue=queue, actor=self.tenant.actor, **changes)
        return self.render_one(self.get_object(sid))

    @extend_schema(operation_id="deleteTaskQueue", responses={204: None})
    def delete(self, request: Request, workspace_sid: str, sid: str) -> Response:
        services.task_queue_delete(queue=self.get_object(sid), actor=self.tenant.actor)
        return Response(status=204)


# Workflows


class WorkflowViewBase(WorkspaceView):
    model = Workflow
    list_key = "workflows"
    output_serializer = WorkflowOutput


class WorkflowListView(WorkflowViewBase):
    @extend_schema(operation_id="listWorkflows", responses=WorkflowOutput(many=True))
    def get(self, request: Request, workspace_sid: str) -> Response:
        rows = self.scoped().filter(**exact_filters(request, {"FriendlyName": "friendly_name"}))
        return self.render_page(request, rows)

    @extend_schema(
        operation_id="createWorkflow", request=WorkflowCreateInput, responses={201: WorkflowOutput}
    )
    def post(self, request: Request, workspace_sid: str) -> Response:
        data = self.validated(WorkflowCreateInput, request)
        data.pop("re_evaluate_tasks", None)
        workflow = services.workflow_create(workspace=self.workspace, actor=self.tenant.actor, **data)
        return self.render_one(workflow, status=201)


class WorkflowDetailView(WorkflowViewBase):
    @extend_schema(operation_id="fetchWorkflow", responses=WorkflowOutput)
    def get(self, request: Request, workspace_sid: str, sid: str) -> Response:
        return self.render_one(self.get_object(sid))

    @extend_schema(operation_id="updateWorkflow", request=WorkflowUpdateInput, responses=WorkflowOutput)
    def post(self, request: Request, workspace_sid: str, sid: str) -> Response:
        workflow = self.get_object(sid)
        changes = self.validated(WorkflowUpdateInput, request)
        changes.pop("re_evaluate_tasks", None)
        return self.render_one(
            services.workflow_update(workflow=workflow, actor=self.tenant.actor, **changes)
        )

    @extend_schema(operation_id="deleteWorkflow", responses={204: None})
    def delete(self, request: Request, workspace_sid: str, sid: str) -> Response:
        services.workflow_delete(workflow=self.get_object(sid), actor=self.tenant.actor)
        return Response(status=204)
