"""The routing pass's deadlines: reservations that timed out (the task offered again, the worker
moved to the workspace's `timeout_activity`), tasks past their time to live (canceled, "Task TTL
Exceeded") and targets whose `timeout` passed (escalation). Rows are claimed with SKIP LOCKED, a
bounded batch per pass; what a batch leaves is due at once."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import OuterRef, QuerySet, Subquery

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

    def any(self) -> bool:
        return bool(self.timed_out or self.expired or self.escalated)


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


@dataclass(frozen=True)
class Deadlines:
    """The workspace's earliest pending reservation timeout, open task expiry and pending task
    escalation, read with the workspace at the start of a pass (`deadline_fields`)."""

    timeout: datetime | None
    expiry: datetime | None
    escalation: datetime | None

    def earliest(self, *more: datetime | None) -> datetime | None:
        return min((at for at in (self.timeout, self.expiry, self.escalation, *more) if at), default=None)


def _earliest(rows: QuerySet, field: str) -> Subquery:
    """The first `field` in order, not MIN(): a MIN grouped by workspace read every open task (the
    backlog), where ORDER BY … LIMIT 1 reads the first entry of the field's partial index."""
    first = rows.filter(workspace_id=OuterRef("id"), **{f"{field}__isnull": False}).order_by(field)
    return Subquery(first.values(field)[:1])


def deadline_fields() -> dict[str, Subquery]:
    """`Deadlines` as annotations of a workspace query: one statement instead of a probe per timer
    on every pass and three aggregates after it, when (as nearly always) nothing is due."""
    return {
        "due_timeout": _earliest(Reservation.objects.filter(status=Reservation.Status.PENDING), "timeout_at"),
        "due_expiry": _earliest(Task.objects.filter(status__in=Task.OPEN), "expires_at"),
        "due_escalation": _earliest(Task.objects.filter(status=Task.Status.PENDING), "escalates_at"),
    }


def deadlines_of(workspace: Workspace) -> Deadlines:
    """The deadlines a workspace was read with through `deadline_fields`."""
    return Deadlines(workspace.due_timeout, workspace.due_expiry, workspace.due_escalation)  # type: ignore[attr-defined]


def _due(at: datetime | None, now: datetime) -> bool:
    return at is not None and at <= now


def timers_fire(workspace: Workspace, *, now: datetime, deadlines: Deadlines) -> Fired:
    """Fire the timers whose earliest deadline has passed; the others are not read."""
    fired = Fired(
        timed_out=_reservations_time_out(workspace, now) if _due(deadlines.timeout, now) else 0,
        expired=_tasks_expire(workspace, now) if _due(deadlines.expiry, now) else 0,
        escalated=_tasks_escalate(workspace, now) if _due(deadlines.escalation, now) else 0,
    )
    fired.more = BATCH in (fired.expired, fired.escalated)
    return fired


def next_deadline(workspace_id: uuid.UUID) -> datetime | None:
    """The workspace's earliest deadline as it stands now (after a pass's timers moved some)."""
    workspace = Workspace.objects.filter(id=workspace_id).annotate(**deadline_fields()).first()
    return deadlines_of(workspace).earliest() if workspace is not None else None
