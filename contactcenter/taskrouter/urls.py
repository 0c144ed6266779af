"""Portal routes for routing: workspaces, a workspace's board, its workers and task queues."""

from django.urls import path

from contactcenter.taskrouter import views

urlpatterns = [
    path("", views.workspaces_view, name="routing"),
    path("<str:sid>/", views.board_view, name="routing-board"),
    path("<str:sid>/workers/new/", views.worker_form_view, name="routing-worker-new"),
    path("<str:sid>/workers/<str:worker_sid>/", views.worker_form_view, name="routing-worker"),
    path(
        "<str:sid>/workers/<str:worker_sid>/activity/",
        views.worker_activity_view,
        name="routing-worker-activity",
    ),
    path("<str:sid>/dispositions/", views.dispositions_view, name="routing-dispositions"),
    path("<str:sid>/queues/new/", views.task_queue_form_view, name="routing-queue-new"),
    path("<str:sid>/queues/<str:queue_sid>/", views.task_queue_form_view, name="routing-queue"),
]
