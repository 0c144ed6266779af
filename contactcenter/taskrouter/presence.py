"""A worker's activity: the one place it changes, with its event, and a wake-up for routing when
the worker becomes available."""

from django.utils import timezone

from contactcenter.taskrouter.events import event_record
from contactcenter.taskrouter.models import Activity, Worker, WorkerChannel
from contactcenter.taskrouter.params import worker_params
from contactcenter.taskrouter.routing import routing_wake


def worker_activity_move(worker: Worker, activity: Activity) -> None:
    """Put a worker (whose row the caller has locked) in `activity`; nothing happens if it is there."""
    if worker.activity_id == activity.id:
        return
    previous = worker.activity
    worker.activity = activity
    worker.available = activity.available
    worker.date_status_changed = timezone.now()
    worker.save(update_fields=["activity", "available", "date_status_changed", "date_updated"])
    event_record(
        workspace=worker.workspace,
        event_type="worker.activity.update",
        resource=worker,
        description=f"Worker {worker.friendly_name} updated to {activity.friendly_name} Activity",
        data=worker_params(worker)
        | {"WorkerPreviousActivitySid": previous.sid, "WorkerPreviousActivityName": previous.friendly_name},
    )
    if activity.available and not previous.available:
        # Idle from now on, for "longest idle first"; the channels are the worker's, under its lock.
        WorkerChannel.objects.filter(worker=worker).update(idle_since=worker.date_status_changed)
    if activity.available:
        routing_wake(workspace_id=worker.workspace_id)
