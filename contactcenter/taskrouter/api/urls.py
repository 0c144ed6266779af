"""TaskRouter v1, taskrouter.twilio.com's `/v1/Workspaces/…` served under `/taskrouter/v1/`."""

from django.urls import path, re_path

from contactcenter.taskrouter.api import events, statistics, tasks, workers, workspaces
from core.api import UnknownResourceView

WS = "Workspaces/<str:workspace_sid>"

urlpatterns = [
    path("Workspaces", workspaces.WorkspaceListView.as_view()),
    path("Workspaces/<str:sid>", workspaces.WorkspaceDetailView.as_view()),
    path(f"{WS}/Activities", workspaces.ActivityListView.as_view()),
    path(f"{WS}/Activities/<str:sid>", workspaces.ActivityDetailView.as_view()),
    path(f"{WS}/TaskChannels", workspaces.TaskChannelListView.as_view()),
    path(f"{WS}/TaskChannels/<str:sid>", workspaces.TaskChannelDetailView.as_view()),
    path(f"{WS}/TaskQueues", workspaces.TaskQueueListView.as_view()),
    path(f"{WS}/TaskQueues/Statistics", statistics.TaskQueuesStatisticsView.as_view()),
    path(f"{WS}/TaskQueues/<str:sid>", workspaces.TaskQueueDetailView.as_view()),
    path(f"{WS}/TaskQueues/<str:sid>/Statistics", statistics.TaskQueueStatisticsView.as_view()),
    path(f"{WS}/TaskQueues/<str:sid>/RealTimeStatistics", statistics.TaskQueueRealTimeView.as_view()),
    path(f"{WS}/TaskQueues/<str:sid>/CumulativeStatistics", statistics.TaskQueueCumulativeView.as_view()),
    path(f"{WS}/Workflows", workspaces.WorkflowListView.as_view()),
    path(f"{WS}/Workflows/<str:sid>", workspaces.WorkflowDetailView.as_view()),
    path(f"{WS}/Workers", workers.WorkerListView.as_view()),
    path(f"{WS}/Workers/Statistics", statistics.WorkersStatisticsView.as_view()),
    path(f"{WS}/Workers/RealTimeStatistics", statistics.WorkersRealTimeView.as_view()),
    path(f"{WS}/Workers/CumulativeStatistics", statistics.WorkersCumulativeView.as_view()),
    path(f"{WS}/Workers/<str:sid>", workers.WorkerDetailView.as_view()),
    path(f"{WS}/Workers/<str:worker_sid>/Statistics", statistics.WorkerStatisticsView.as_view()),
    path(f"{WS}/Workers/<str:worker_sid>/Channels", workers.WorkerChannelListView.as_view()),
    path(f"{WS}/Workers/<str:worker_sid>/Channels/<str:sid>", workers.WorkerChannelDetailView.as_view()),
    path(f"{WS}/Workers/<str:worker_sid>/Reservations", workers.WorkerReservationListView.as_view()),
    path(
        f"{WS}/Workers/<str:worker_sid>/Reservations/<str:sid>", workers.WorkerReservationDetailView.as_view()
    ),
    path(f"{WS}/Tasks", tasks.TaskListView.as_view()),
    path(f"{WS}/Tasks/<str:sid>", tasks.TaskDetailView.as_view()),
    path(f"{WS}/Tasks/<str:task_sid>/Reservations", tasks.TaskReservationListView.as_view()),
    path(f"{WS}/Tasks/<str:task_sid>/Reservations/<str:sid>", tasks.TaskReservationDetailView.as_view()),
    path(f"{WS}/Events", events.EventListView.as_view()),
    path(f"{WS}/Events/<str:sid>", events.EventDetailView.as_view()),
    path(f"{WS}/Statistics", statistics.WorkspaceStatisticsView.as_view()),
    path(f"{WS}/RealTimeStatistics", statistics.WorkspaceRealTimeView.as_view()),
    path(f"{WS}/CumulativeStatistics", statistics.WorkspaceCumulativeView.as_view()),
    re_path(r"^.*$", UnknownResourceView.as_view()),
]
