"""The Celery application; tasks are discovered in each app's `tasks.py`."""

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("switchboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _connections_back_to_the_pool(task: Any = None, **_: Any) -> None:
    """Return the task's database connections to the process's pool (Django closes, and so returns,
    every connection past its CONN_MAX_AGE of 0, and drops a broken one).

    Celery's Django fixup would instead close the whole pool around every task in a prefork worker
    (`CELERY_DB_REUSE_MAX` in settings stops it): a new PostgreSQL connection per task, about two
    thirds of a one-message send task's time. Not for an eager task: it runs inside its caller's
    transaction."""
    if task is not None and not getattr(task.request, "is_eager", False):
        close_old_connections()
