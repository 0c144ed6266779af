"""Celery tasks of the TaskRouter engine."""

import uuid

from celery import shared_task

from contactcenter.taskrouter.callbacks import assignment_callback_run


@shared_task(name="taskrouter.assignment_callback")
def assignment_callback_task(account_id: str, reservation_id: str) -> None:
    """Not retried and acked early: a reservation not answered in time simply times out, as
    Twilio's does; running it twice after it was answered sends nothing (it is no longer pending)."""
    assignment_callback_run(account_id=uuid.UUID(account_id), reservation_id=uuid.UUID(reservation_id))
