"""The statistics a wallboard reads: real-time ones from the live tables, cumulative ones from the
workspace's event log over a time window.

Each selector answers with a fixed handful of grouped queries, however many tasks, workers or queues
there are: a page of queues is summarised by grouping on the queue, never by a query per queue.
Ages are whole seconds. Real-time counts are of live tasks (pending, reserved, assigned, wrapping);
the waiting ones are those pending or reserved.
"""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from django.db.models import Avg, Count, F, IntegerField, Max, Min, Q, QuerySet, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, TruncMinute

from contactcenter.taskrouter.models import (
    Activity,
    Event,
    Task,
    TaskQueue,
    TaskQueueWorker,
    Worker,
    Workspace,
)

LIVE = [Task.Status.PENDING, Task.Status.RESERVED, Task.Status.ASSIGNED, Task.Status.WRAPPING]
WAITING = [Task.Status.PENDING, Task.Status.RESERVED]
RESERVATION_OUTCOMES = {
    "reservations_created": "reservation.created",
    "reservations_accepted": "reservation.accepted",
    "reservations_rejected": "reservation.rejected",
    "reservations_timed_out": "reservation.timeout",
    "reservations_canceled": "reservation.canceled",
    "reservations_rescinded": "reservation.rescinded",
}
TASK_OUTCOMES = {
    "tasks_canceled": "task.canceled",
    "tasks_completed": "task.completed",
    "tasks_deleted": "task.deleted",
}
QUEUE_OUTCOMES = {"tasks_entered": "task-queue.entered", "tasks_moved": "task-queue.moved"}
MAX_SPLITS = 10


def _age(at: datetime | None, now: datetime) -> int:
    return max(int((now - at).total_seconds()), 0) if at else 0


def _live_tasks(workspace: Workspace, task_channel: str | None) -> QuerySet:
    tasks = Task.objects.filter(workspace=workspace, status__in=LIVE)
    return tasks.filter(task_channel__unique_name=task_channel) if task_channel else tasks


def _task_summaries(tasks: QuerySet, by: str | None) -> dict[Any, dict[str, Any]]:
    """Per `by` (a column, or None for all): tasks by status, by priority, and their total."""
    summaries: dict[Any, dict[str, Any]] = defaultdict(
        lambda: {"tasks_by_status": dict.fromkeys(LIVE, 0), "tasks_by_priority": {}, "total_tasks": 0}
    )
    keys = [by] if by else []
    for row in tasks.values(*keys, "status", "priority").annotate(n=Count("id")).order_by():
        summary = summaries[row[by] if by else None]
        summary["tasks_by_status"][row["status"]] += row["n"]
        priority = str(row["priority"])
        summary["tasks_by_priority"][priority] = summary["tasks_by_priority"].get(priority, 0) + row["n"]
        summary["total_tasks"] += row["n"]
    return summaries


def _longest_waiting(tasks: QuerySet, by: str | None, since: str) -> dict[Any, tuple[uuid.UUID, datetime]]:
    """Per `by`: the waiting task waiting longest counted from `since`, and that time."""
    waiting = tasks.filter(status__in=WAITING, **{f"{since}__isnull": False})
    if by is None:
        first = waiting.order_by(since, "id").values_list("id", since).first()
        return {None: first} if first else {}
    rows = waiting.order_by(by, since, "id").distinct(by).values_list(by, "id", since)
    return {key: (pk, at) for key, pk, at in rows}


def _activity_statistics(
    activities: Sequence[Activity], counts: dict[uuid.UUID, int]
) -> list[dict[str, Any]]:
    return [
        {"sid": a.sid, "friendly_name": a.friendly_name, "workers": counts.get(a.id, 0)} for a in activities
    ]


def _activities(workspace: Workspace) -> list[Activity]:
    return list(Activity.objects.filter(workspace=workspace).order_by("date_created", "id"))


def task_queues_realtime(
    *, workspace: Workspace, queues: Iterable[TaskQueue], task_channel: str | None = None
) -> dict[uuid.UUID, dict[str, Any]]:
    """Real-time statistics of each of `queues`, by queue id: five queries for any number of them."""
    ids = [queue.id for queue in queues]
    now = datetime.now(UTC)
    tasks = _live_tasks(workspace, task_channel).filter(task_queue_id__in=ids)
    summaries = _task_summaries(tasks, "task_queue_id")
    longest = _longest_waiting(tasks, "task_queue_id", "age_anchor_at")
    longest_in_queue = _longest_waiting(tasks, "task_queue_id", "queue_entered_at")
    activities = _activities(workspace)
    available = {a.id for a in activities if a.available}
    members: dict[uuid.UUID, dict[uuid.UUID, int]] = defaultdict(dict)
    member_rows = (
        TaskQueueWorker.objects.filter(task_queue_id__in=ids)
        .values("task_queue_id", activity_id=F("worker__activity_id"))
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in member_rows:
        members[row["task_queue_id"]][row["activity_id"]] = row["n"]
    result = {}
    for pk in ids:
        counts = members.get(pk, {})
        oldest, oldest_in_queue = longest.get(pk), longest_in_queue.get(pk)
        result[pk] = {
            **summaries[pk],
            "longest_task_waiting_sid": Task(id=oldest[0]).sid if oldest else None,
            "longest_task_waiting_age": _age(oldest[1], now) if oldest else 0,
            "longest_relative_task_sid_in_queue": Task(id=oldest_in_queue[0]).sid
            if oldest_in_queue
            else None,
            "longest_relative_task_age_in_queue": _age(oldest_in_queue[1], now) if oldest_in_queue else 0,
            "total_eligible_workers": sum(counts.values()),
            "total_available_workers": sum(n for activity, n in counts.items() if activity in available),
            "activity_statistics": _activity_statistics(activities, counts),
        }
    return result


def workers_realtime(*, workspace: Workspace) -> dict[str, Any]:
    """The workspace's workers by activity: two queries."""
    counts = {
        row["activity_id"]: row["n"]
        for row in Worker.objects.filter(workspace=workspace)
        .values("activity_id")
        .annotate(n=Count("id"))
        .order_by()
    }
    return {
        "activity_statistics": _activity_statistics(_activities(workspace), counts),
        "total_workers": sum(counts.values()),
    }


def workspace_realtime(*, workspace: Workspace, task_channel: str | None = None) -> dict[str, Any]:
    """The workspace's live tasks and its workers by activity: four queries."""
    now = datetime.now(UTC)
    tasks = _live_tasks(workspace, task_channel)
    oldest = _longest_waiting(tasks, None, "age_anchor_at").get(None)
    return {
        **_task_summaries(tasks, None)[None],
        **workers_realtime(workspace=workspace),
        "longest_task_waiting_sid": Task(id=oldest[0]).sid if oldest else None,
        "longest_task_waiting_age": _age(oldest[1], now) if oldest else 0,
    }


# Cumulative statistics, from the event log


def _durations(row: dict[str, Any] | None) -> dict[str, int]:
    if not row or not row["n"]:
        return {"avg": 0, "min": 0, "max": 0, "total": 0}
    return {
        "avg": round(row["avg_age"] or 0),
        "min": row["min_age"] or 0,
        "max": row["max_age"] or 0,
        "total": row["total_age"] or 0,
    }


def _event_rows(
    events: QuerySet, by: str | None, splits: Sequence[int], *, by_minute: bool = False
) -> dict[Any, dict[str, dict[str, Any]]]:
    """Per `by` (a key of the events' data, or None) and event type: the count, and the task's age
    (seconds waited, from the event's TaskAge) as avg/min/max/total and below each of `splits`.
    With `by_minute`, per (`by`'s value, the minute the events fell in) instead: a wallboard's chart."""
    events = events.annotate(age=Cast(KT("data__TaskAge"), IntegerField()))
    keys = ["event_type"]
    if by:
        events = events.annotate(key=KT(f"data__{by}"))
        keys.append("key")
    if by_minute:
        events = events.annotate(minute=TruncMinute("date_created", tzinfo=UTC))
        keys.append("minute")
    aggregates: dict[str, Any] = {
        "n": Count("id"),
        "avg_age": Avg("age"),
        "min_age": Min("age"),
        "max_age": Max("age"),
        "total_age": Sum("age"),
        **{f"below_{seconds}": Count("id", filter=Q(age__lt=seconds)) for seconds in splits},
    }
    found: dict[Any, dict[str, dict[str, Any]]] = defaultdict(dict)
    for row in events.values(*keys).annotate(**aggregates).order_by():
        found[(row.get("key"), row["minute"]) if by_minute else row.get("key")][row["event_type"]] = row
    return found


def _cumulative(
    rows: dict[str, dict[str, Any]], splits: Sequence[int], start: datetime, end: datetime
) -> dict[str, Any]:
    def count(event_type: str) -> int:
        return int(rows.get(event_type, {}).get("n", 0))

    accepted, canceled = rows.get("reservation.accepted"), rows.get("task.canceled")
    split: dict[str, Any] = {}
    for seconds in splits:
        parts = {}
        for side in ("below", "above"):
            counts = {}
            for name, row in (("reservations_accepted", accepted), ("tasks_canceled", canceled)):
                below = int(row[f"below_{seconds}"]) if row else 0
                counts[name] = below if side == "below" else (int(row["n"]) - below if row else 0)
            parts[side] = counts
        split[str(seconds)] = parts
    return {
        "start_time": start,
        "end_time": end,
        **{name: count(event_type) for name, event_type in RESERVATION_OUTCOMES.items()},
        **{name: count(event_type) for name, event_type in TASK_OUTCOMES.items()},
        "avg_task_acceptance_time": _durations(accepted)["avg"],
        "wait_duration_until_accepted": _durations(accepted),
        "wait_duration_until_canceled": _durations(canceled),
        "split_by_wait_time": split or None,
    }


def _window(workspace: Workspace, start: datetime, end: datetime, task_channel: str | None) -> QuerySet:
    events = Event.objects.filter(workspace=workspace, date_created__gte=start, date_created__lte=end)
    return events.filter(data__TaskChannelUniqueName=task_channel) if task_channel else events


def task_queues_cumulative(
    *,
    workspace: Workspace,
    queues: Iterable[TaskQueue],
    start: datetime,
    end: datetime,
    splits: Sequence[int] = (),
    task_channel: str | None = None,
) -> dict[uuid.UUID, dict[str, Any]]:
    """Each queue's outcomes between `start` and `end`, by queue id: one query for any number of queues."""
    by_sid = {queue.sid: queue.id for queue in queues}
    events = _window(workspace, start, end, task_channel).filter(data__TaskQueueSid__in=list(by_sid))
    rows = _event_rows(events, "TaskQueueSid", splits)
    result = {}
    for sid, pk in by_sid.items():
        queue_rows = rows.get(sid, {})
        result[pk] = {
            **_cumulative(queue_rows, splits, start, end),
            **{name: int(queue_rows.get(t, {}).get("n", 0)) for name, t in QUEUE_OUTCOMES.items()},
        }
    return result


def workspace_cumulative(
    *,
    workspace: Workspace,
    start: datetime,
    end: datetime,
    splits: Sequence[int] = (),
    task_channel: str | None = None,
) -> dict[str, Any]:
    rows = _event_rows(_window(workspace, start, end, task_channel), None, splits).get(None, {})
    return {
        **_cumulative(rows, splits, start, end),
        "tasks_created": int(rows.get("task.created", {}).get("n", 0)),
        "tasks_moved": int(rows.get("task-queue.moved", {}).get("n", 0)),
    }


def workers_cumulative(
    *,
    workspace: Workspace,
    start: datetime,
    end: datetime,
    worker: Worker | None = None,
    task_channel: str | None = None,
) -> dict[str, Any]:
    """Reservation outcomes of the workspace's workers (or one worker's), and tasks they were assigned."""
    events = _window(workspace, start, end, task_channel)
    if worker is not None:
        events = events.filter(data__WorkerSid=worker.sid)
    rows = _event_rows(events.filter(event_type__startswith="reservation."), None, ()).get(None, {})
    return {
        "start_time": start,
        "end_time": end,
        **{
            name: int(rows.get(event_type, {}).get("n", 0))
            for name, event_type in RESERVATION_OUTCOMES.items()
        },
        "tasks_assigned": int(rows.get("reservation.accepted", {}).get("n", 0)),
    }


def split_thresholds(text: str | None) -> list[int]:
    """`SplitByWaitTime` (`5,30,60`: seconds) as sorted thresholds; ValueError for anything else."""
    if not text:
        return []
    values = sorted({int(part) for part in text.split(",") if part.strip()})
    if len(values) > MAX_SPLITS or any(value < 0 or value > 86400 * 14 for value in values):
        raise ValueError(text)
    return values


def task_queues_by_minute(
    *,
    workspace: Workspace,
    queues: Iterable[TaskQueue],
    start: datetime,
    end: datetime,
    event_types: Iterable[str],
    splits: Sequence[int] = (),
) -> dict[tuple[uuid.UUID, datetime], dict[str, dict[str, Any]]]:
    """Per (queue id, minute) between `start` and `end`: the counts of `event_types` (and of each,
    the tasks' ages below each of `splits`). One query, over the event log's workspace index."""
    by_sid = {queue.sid: queue.id for queue in queues}
    events = _window(workspace, start, end, None).filter(
        data__TaskQueueSid__in=list(by_sid), event_type__in=list(event_types)
    )
    rows = _event_rows(events, "TaskQueueSid", splits, by_minute=True)
    return {(by_sid[sid], minute): found for (sid, minute), found in rows.items() if sid in by_sid}
