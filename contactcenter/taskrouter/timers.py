"""The routing pass's deadlines: reservations that timed out (the task offered again, the worker
moved to the workspace's `timeout_activity`), tasks past their time to live (canceled, "Task TTL
Exceeded") and targets whose `timeout` passed (escalation). Rows are claimed with SKIP LOCKED, a
bounded batch per pass; what a batch leaves is due at once."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Min

from contactcenter.taskrouter.models import Activity, Reservation, Task, Workspace
from contactcenter.taskrouter.presence import worker_activity_move
from contactcenter.taskrouter.reservations import reservation_end, task_cancel, task_requeue
from contactcenter.taskrouter.targets import task_escalate
from contactcenter.taskrouter.task_lifecycle import REASON_TTL

BATCH = 100


@dataclass
class Fired:
    timed_out: int = 0
    expired: int = 0
    escalated: int = 0
    more: bool = False


def _reservations_time_out(workspace: Workspace, now: datetime) -> int:
    due = Reservation.objects.filter(
        workspace=workspace, status=Reservation.Status.PENDING, timeout_at__lte=now
    )
    task_ids = set(due.values_list("task_id", flat=True)[:BATCH])
    tasks = Task.objects.filter(id__in=task_ids).select_related("task_channel", "task_queue", "workflow")
    count = 0
    for task in tasks.select_for_update(skip_locked=True, of=("self",)).order_by("id"):
        task.workspace = workspace
        expired = task.reservations.select_for_update(of=("self",)).select_related(
            "worker__activity", "task_queue"
        )
        for reservation in expired.filter(status=Reservation.Status.PENDING, timeout_at__lte=now):
            reservation.task = task
            reservation_end(reservation, Reservation.Status.TIMEOUT)
            if reservation.worker is not None and workspace.timeout_activity_id is not None:
                reservation.worker.workspace = workspace
                worker_activity_move(
                    reservation.worker, Activity.objects.get(id=workspace.timeout_activity_id)
                )
            count += 1
        task_requeue(task)
    return count


def _tasks_expire(workspace: Workspace, now: datetime) -> int:
    expired = Task.objects.filter(workspace=workspace, status__in=Task.OPEN, expires_at__lte=now)
    count = 0
    for task in expired.select_related("task_channel", "task_queue", "workflow").select_for_update(
        skip_locked=True, of=("self",)
    )[:BATCH]:
        task.workspace = workspace
        task_cancel(task, REASON_TTL)
        count += 1
    return count


def _tasks_escalate(workspace: Workspace, now: datetime) -> int:
    due = Task.objects.filter(workspace=workspace, status=Task.Status.PENDING, escalates_at__lte=now)
    count = 0
    for task in due.select_related("task_channel", "task_queue", "workflow").select_for_update(
        skip_locked=True, of=("self",)
    )[:BATCH]:
        task.workspace = workspace
        task_escalate(task, now=now)
        count += 1
    return count


def timers_fire(workspace: Workspace, *, now: datetime) -> Fired:
    fired = Fired(
        timed_out=_reservations_time_out(workspace, now),
        expired=_tasks_expire(workspace, now),
        escalated=_tasks_escalate(workspace, now),
    )
    fired.more = BATCH in (fired.expired, fired.escalated)
    return fired


def next_deadline(workspace: Workspace) -> datetime | None:
    """The earliest pending reservation timeout, task expiry or escalation in the workspace."""
    candidates = [
        Reservation.objects.filter(workspace=workspace, status=Reservation.Status.PENDING).aggregate(
            at=Min("timeout_at")
        )["at"],
        Task.objects.filter(workspace=workspace, status__in=Task.OPEN).aggregate(at=Min("expires_at"))["at"],
        Task.objects.filter(workspace=workspace, status=Task.Status.PENDING).aggregate(
            at=Min("escalates_at")
        )["at"],
    ]
    return min((at for at in candidates if at is not None), default=None)
