"""TaskRouter as its own Django app, so its tables are `taskrouter_*` beside contactcenter's queues."""

from django.apps import AppConfig


class TaskRouterConfig(AppConfig):
    name = "contactcenter.taskrouter"
    label = "taskrouter"
    verbose_name = "TaskRouter"
