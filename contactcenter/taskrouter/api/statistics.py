"""Statistics: of a TaskQueue (real-time, cumulative, both), of all TaskQueues (a page of both), of the
workspace, of its workers, and of one worker. The selectors are `contactcenter/taskrouter/statistics.py`."""

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from contactcenter.taskrouter import statistics
from contactcenter.taskrouter.api.base import WorkspaceView
from contactcenter.taskrouter.api.records import workspace_url
from contactcenter.taskrouter.models import TaskQueue, Worker
from contactcenter.taskrouter.workspaces import invalid
from core.dates import iso8601
from core.filters import exact_filters
from core.sids import make_sid
from core.v1 import paginate_v1, query_window

# Twilio's cumulative statistics cover the last 15 minutes unless asked otherwise.
DEFAULT_WINDOW = timedelta(minutes=15)
WINDOW = [
    OpenApiParameter(
        "StartDate", str, description="ISO 8601; with EndDate, the window the statistics cover."
    ),
    OpenApiParameter("EndDate", str, description="ISO 8601; now by default."),
    OpenApiParameter("Minutes", int, description="The window as minutes before EndDate (15 by default)."),
    OpenApiParameter("TaskChannel", str, description="Only tasks of this task channel (unique name)."),
]
SPLIT = [OpenApiParameter("SplitByWaitTime", str, description="Thresholds in seconds, such as 5,30,60.")]


class Statistics(serializers.Serializer):
    """A statistics document: its own keys (see Twilio's TaskRouter statistics), with these."""

    account_sid = serializers.CharField()
    workspace_sid = serializers.CharField()
    url = serializers.CharField()


class StatisticsView(WorkspaceView):
    """Statistics are documents, not rows: `document` adds what every one carries."""

    output_serializer = Statistics

    def document(self, body: dict[str, Any], *parts: str) -> dict[str, Any]:
        return {
            "account_sid": make_sid("AC", self.workspace.account_id),
            "workspace_sid": self.workspace.sid,
            **{k: iso8601(v) if k in ("start_time", "end_time") else v for k, v in body.items()},
            "url": workspace_url(self.workspace.id, *parts),
        }

    def window(self) -> dict[str, Any]:
        start, end = query_window(self.request, default=DEFAULT_WINDOW)
        return {
            "start": start,
            "end": end,
            "task_channel": self.request.query_params.get("TaskChannel") or None,
        }

    def splits(self) -> list[int]:
        raw = self.request.query_params.get("SplitByWaitTime")
        try:
            return statistics.split_thresholds(raw)
        except ValueError as exc:
            raise invalid(
                f"Invalid SplitByWaitTime {raw}: up to 10 numbers of seconds, such as 5,30,60"
            ) from exc

    def cumulative(self, queues: list[TaskQueue]) -> dict[Any, dict[str, Any]]:
        return statistics.task_queues_cumulative(
            workspace=self.workspace, queues=queues, splits=self.splits(), **self.window()
        )

    def realtime(self, queues: list[TaskQueue]) -> dict[Any, dict[str, Any]]:
        channel = self.request.query_params.get("TaskChannel") or None
        return statistics.task_queues_realtime(workspace=self.workspace, queues=queues, task_channel=channel)


class TaskQueueRealTimeView(StatisticsView):
    @extend_schema(operation_id="fetchTaskQueueRealTimeStatistics", responses=Statistics)
    def get(self, request: Request, workspace_sid: str, sid: str) -> Response:
        queue = self.child(TaskQueue, sid)
        body = {"task_queue_sid": queue.sid, **self.realtime([queue])[queue.id]}
        return Response(self.document(body, "TaskQueues", queue.sid, "RealTimeStatistics"))


class TaskQueueCumulativeView(StatisticsView):
    @extend_schema(
        operation_id="fetchTaskQueueCumulativeStatistics", parameters=[*WINDOW, *SPLIT], responses=Statistics
    )
    def get(self, request: Request, workspace_sid: str, sid: str) -> Response:
        queue = self.child(TaskQueue, sid)
        body = {"task_queue_sid": queue.sid, **self.cumulative([queue])[queue.id]}
        return Response(self.document(body, "TaskQueues", queue.sid, "CumulativeStatistics"))


class TaskQueueStatisticsView(StatisticsView):
    @extend_schema(
        operation_id="fetchTaskQueueStatistics", parameters=[*WINDOW, *SPLIT], responses=Statistics
    )
    def get(self, request: Request, workspace_sid: str, sid: str) -> Response:
        queue = self.child(TaskQueue, sid)
        body = {
            "task_queue_sid": queue.sid,
            "cumulative": self.document(self.cumulative([queue])[queue.id]),
            "realtime": self.document(self.realtime([queue])[queue.id]),
        }
        return Response(self.document(body, "TaskQueues", queue.sid, "Statistics"))


class TaskQueuesStatisticsView(StatisticsView):
    """A page of queues, each with both kinds of statistics: a fixed number of queries per page."""

    model = TaskQueue
    list_key = "task_queues_statistics"

    @extend_schema(
        operation_id="listTaskQueuesStatistics",
        parameters=[*WINDOW, *SPLIT, OpenApiParameter("FriendlyName", str)],
        responses=Statistics(many=True),
    )
    def get(self, request: Request, workspace_sid: str) -> Response:
        queues = self.scoped().filter(**exact_filters(request, {"FriendlyName": "friendly_name"}))
        return self.render_page(request, queues)

    def serialize(self, page: Sequence[TaskQueue]) -> list[dict[str, Any]]:
        queues = list(page)
        cumulative, realtime = self.cumulative(queues), self.realtime(queues)
        return [
            {
                "account_sid": make_sid("AC", queue.account_id),
                "workspace_sid": self.workspace.sid,
                "task_queue_sid": queue.sid,
                "cumulative": self.document(cumulative[queue.id]),
                "realtime": self.document(realtime[queue.id]),
            }
            for queue in queues
        ]

    def render_page(self, request: Request, queryset: Any, keyset: Any = None) -> Response:
        return Response(paginate_v1(request, queryset, key=self.list_key, serialize=self.serialize))


class WorkspaceRealTimeView(StatisticsView):
    @extend_schema(operation_id="fetchWorkspaceRealTimeStatistics", responses=Statistics)
    def get(self, request: Request, workspace_sid: str) -> Response:
        channel = request.query_params.get("TaskChannel") or None
        body = statistics.workspace_realtime(workspace=self.workspace, task_channel=channel)
        return Response(self.document(body, "RealTimeStatistics"))


class WorkspaceCumulativeView(StatisticsView):
    @extend_schema(
        operation_id="fetchWorkspaceCumulativeStatistics", parameters=[*WINDOW, *SPLIT], responses=Statistics
    )
    def get(self, request: Request, workspace_sid: str) -> Response:
        body = statistics.workspace_cumulative(
            workspace=self.workspace, splits=self.splits(), **self.window()
        )
        return Response(self.document(body, "CumulativeStatistics"))


class WorkspaceStatisticsView(StatisticsView):
    @extend_schema(
        operation_id="fetchWorkspaceStatistics", parameters=[*WINDOW, *SPLIT], responses=Statistics
    )
    def get(self, request: Request, workspace_sid: str) -> Response:
        window = self.window()
        body = {
            "cumulative": self.document(
                statistics.workspace_cumulative(workspace=self.workspace, splits=self.splits(), **window)
            ),
            "realtime": self.document(
                statistics.workspace_realtime(workspace=self.workspace, task_channel=window["task_channel"])
            ),
        }
        return Response(self.document(body, "Statistics"))


class WorkersRealTimeView(StatisticsView):
    @extend_schema(operation_id="fetchWorkersRealTimeStatistics", responses=Statistics)
    def get(self, request: Request, workspace_sid: str) -> Response:
        body = statistics.workers_realtime(workspace=self.workspace)
        return Response(self.document(body, "Workers", "RealTimeStatistics"))


class WorkersCumulativeView(StatisticsView):
    @extend_schema(operation_id="fetchWorkersCumulativeStatistics", parameters=WINDOW, responses=Statistics)
    def get(self, request: Request, workspace_sid: str) -> Response:
        body = statistics.workers_cumulative(workspace=self.workspace, **self.window())
        return Response(self.document(body, "Workers", "CumulativeStatistics"))


class WorkersStatisticsView(StatisticsView):
    @extend_schema(operation_id="fetchWorkersStatistics", parameters=WINDOW, responses=Statistics)
    def get(self, request: Request, workspace_sid: str) -> Response:
        body = {
            "cumulative": self.document(
                statistics.workers_cumulative(workspace=self.workspace, **self.window())
            ),
            "realtime": self.document(statistics.workers_realtime(workspace=self.workspace)),
        }
        return Response(self.document(body, "Workers", "Statistics"))


class WorkerStatisticsView(StatisticsView):
    @extend_schema(operation_id="fetchWorkerStatistics", parameters=WINDOW, responses=Statistics)
    def get(self, request: Request, workspace_sid: str, worker_sid: str) -> Response:
        worker = self.child(Worker, worker_sid)
        cumulative = statistics.workers_cumulative(workspace=self.workspace, worker=worker, **self.window())
        body = {"worker_sid": worker.sid, "cumulative": self.document(cumulative)}
        return Response(self.document(body, "Workers", worker.sid, "Statistics"))
