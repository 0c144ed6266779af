"""TaskRouter as its own Django app, so its tables are `taskrouter_*` beside contactcenter's queues."""

from django.apps import AppConfig


class TaskRouterConfig(AppConfig):
    name = "contactcenter.taskrouter"
    label = "taskrouter"
    verbose_name = "TaskRouter"

    def ready(self) -> None:
        # Tells the routing board's sockets when a workspace changes.
        from contactcenter.taskrouter import board_changes  # noqa: F401
