"""Celery tasks of the TaskRouter engine."""

import uuid

from celery import shared_task

from contactcenter.taskrouter.callbacks import assignment_callback_run


@shared_task(name="taskrouter.assignment_callback", acks_late=True)
def assignment_callback_task(account_id: str, reservation_id: str) -> None:
    """Not retried (a reservation not answered in time simply times out, as Twilio's does) but acked
    late, so a worker process killed while the callback is in flight gives it back to the broker and
    it runs again. Idempotent: a run after the instruction was applied sends nothing (the reservation
    is no longer pending), and a second instruction for it is refused under the reservation's lock."""
    assignment_callback_run(account_id=uuid.UUID(account_id), reservation_id=uuid.UUID(reservation_id))
