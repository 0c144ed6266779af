"""The Celery queue of bulk alerts' work, apart from the default one (config/settings.py): a worker
reads the two in turn, so an alert's thousands of hand-overs never stand between a single text and
the carrier, and what is queued behind an alert's sends (its timeline entries) stays behind them."""

from celery import Task
from django.conf import settings


def bulk_task(task: Task, *args: str | list[str]) -> None:
    task.apply_async(args, queue=settings.CELERY_BULK_QUEUE)
