"""A supervisor's routing board, the wallboard: each task queue (what waits, for how long, who could
take it, its last hour's service level and charts, wallboard.py) and each worker (activity, since
when, what they hold per channel, the tasks they work on), read in a fixed number of queries however
many workers and tasks there are, and rendered as the one fragment the page and its websocket
(consumers.py) both show.

Times are given as instants, never as ages, so the fragment is the same until something changes
(the websocket sends it only then); the browser turns them into ticking durations.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from django.db.models import Count
from django.http import HttpRequest
from django.template.loader import render_to_string

from contactcenter.taskrouter.models import (
    Activity,
    Reservation,
    Task,
    TaskChannel,
    TaskQueue,
    Worker,
    WorkerChannel,
    Workspace,
)
from contactcenter.taskrouter.statistics import task_queues_realtime, workers_realtime
from contactcenter.taskrouter.wallboard import QueueHour, Wallboard, wallboard_read
from core.sids import sid_to_uuid
from core.tenancy import tenant_scope
from voice.models import CallMonitor

WORKERS_SHOWN = 200  # a wall of names stops being read long before this
FRAGMENT = "taskrouter/partials/board.html"


@dataclass(frozen=True)
class QueueRow:
    queue: TaskQueue
    tasks_by_status: dict[str, int]
    waiting: int  # pending or reserved
    longest_waiting_since: datetime | None  # the oldest waiting task's age anchor (its creation)
    available_workers: int
    eligible_workers: int
    hour: QueueHour | None = None  # the last hour's outcomes (wallboard.py)


@dataclass(frozen=True)
class Holding:
    """A worker's load on one task channel: live reservations (pending, accepted, wrapping) out of
    the channel's capacity."""

    channel: str
    capacity: int
    is_available: bool
    pending: int = 0
    accepted: int = 0
    wrapping: int = 0

    @property
    def held(self) -> int:
        return self.pending + self.accepted + self.wrapping


@dataclass(frozen=True)
class CurrentTask:
    """A task a worker has accepted (or wraps up), since its reservation's last change."""

    sid: str
    queue: str
    channel: str
    status: str  # the reservation's: accepted or wrapping
    since: datetime


@dataclass(frozen=True)
class WorkerRow:
    worker: Worker
    holdings: list[Holding]
    call_sid: str = ""  # the call of the voice task the worker has accepted, for monitoring it
    tasks: list[CurrentTask] = field(default_factory=list)


@dataclass(frozen=True)
class Board:
    workspace: Workspace
    activities: list[Activity]
    channels: list[TaskChannel]
    queues: list[QueueRow]
    workers: list[WorkerRow]
    total_workers: int
    workers_by_activity: list[dict[str, Any]] = field(default_factory=list)
    wallboard: Wallboard | None = None


def _queue_rows(workspace: Workspace) -> list[QueueRow]:
    queues = list(TaskQueue.objects.filter(workspace=workspace).order_by("friendly_name", "id"))
    statistics = task_queues_realtime(workspace=workspace, queues=queues)
    oldest: dict[uuid.UUID, uuid.UUID] = {}  # queue id → its longest waiting task's id
    for pk, found in statistics.items():
        task_id = sid_to_uuid(found["longest_task_waiting_sid"] or "", Task.SID_PREFIX)
        if task_id is not None:
            oldest[pk] = task_id
    anchors: dict[uuid.UUID, datetime] = (
        dict(Task.objects.filter(id__in=oldest.values()).values_list("id", "age_anchor_at")) if oldest else {}
    )
    rows = []
    for queue in queues:
        found = statistics[queue.id]
        by_status = found["tasks_by_status"]
        rows.append(
            QueueRow(
                queue=queue,
                tasks_by_status=by_status,
                waiting=by_status[Task.Status.PENDING] + by_status[Task.Status.RESERVED],
                longest_waiting_since=anchors.get(oldest[queue.id]) if queue.id in oldest else None,
                available_workers=found["total_available_workers"],
                eligible_workers=found["total_eligible_workers"],
            )
        )
    return rows


def _worker_rows(workspace: Workspace, channels: list[TaskChannel]) -> list[WorkerRow]:
    workers = list(
        Worker.objects.filter(workspace=workspace)
        .select_related("activity")
        .order_by("friendly_name", "id")[:WORKERS_SHOWN]
    )
    ids = [worker.id for worker in workers]
    held: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
    counts = (
        Reservation.objects.filter(worker_id__in=ids, status__in=Reservation.HOLDING)
        .values("worker_channel_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in counts:
        held[row["worker_channel_id"]][row["status"]] = row["n"]
    loads: dict[uuid.UUID, dict[uuid.UUID, Holding]] = defaultdict(dict)
    names = {channel.id: channel.unique_name for channel in channels}
    tasks = _current_tasks(workspace, ids, names)
    for wc in WorkerChannel.objects.filter(worker_id__in=ids).only(
        "id", "worker_id", "task_channel_id", "capacity", "available"
    ):
        statuses = held[wc.id]
        loads[wc.worker_id][wc.task_channel_id] = Holding(
            channel=names.get(wc.task_channel_id, ""),
            capacity=wc.capacity,
            is_available=wc.available,
            pending=statuses.get(Reservation.Status.PENDING, 0),
            accepted=statuses.get(Reservation.Status.ACCEPTED, 0),
            wrapping=statuses.get(Reservation.Status.WRAPPING, 0),
        )
    on_calls = dict(
        Reservation.objects.filter(
            worker_id__in=ids, status=Reservation.Status.ACCEPTED, task__task_channel__unique_name="voice"
        ).values_list("worker_id", "task__attributes_json__call_sid")
    )
    return [
        WorkerRow(
            worker=worker,
            holdings=[
                loads[worker.id].get(channel.id) or Holding(channel.unique_name, 0, False)
                for channel in channels
            ],
            call_sid=str(on_calls.get(worker.id) or ""),
            tasks=tasks.get(worker.id, []),
        )
        for worker in workers
    ]


def _current_tasks(
    workspace: Workspace, ids: list[uuid.UUID], names: dict[uuid.UUID, str]
) -> dict[uuid.UUID, list[CurrentTask]]:
    """The tasks each of the workers `ids` has accepted or wraps up, by worker id: one query over the
    workspace's accepted and wrapping reservations (no more than its workers' capacity), rather than
    one more list of every worker's id sent as parameters."""
    wanted = set(ids)
    found: dict[uuid.UUID, list[CurrentTask]] = defaultdict(list)
    rows = (
        Reservation.objects.filter(
            workspace=workspace, status__in=[Reservation.Status.ACCEPTED, Reservation.Status.WRAPPING]
        )
        .order_by("date_updated", "id")
        .values_list(
            "worker_id",
            "task_id",
            "task_queue__friendly_name",
            "task__task_channel_id",
            "status",
            "date_updated",
        )
    )
    for worker_id, task_id, queue, channel_id, status, since in rows:
        if worker_id in wanted:
            found[worker_id].append(
                CurrentTask(Task(id=task_id).sid, queue or "", names.get(channel_id, ""), status, since)
            )
    return found


def board_read(*, workspace: Workspace) -> Board:
    """The board in about fifteen queries, whatever the number of queues, workers and tasks (the
    first WORKERS_SHOWN workers by name are listed; the totals count them all)."""
    channels = list(TaskChannel.objects.filter(workspace=workspace).order_by("date_created", "id"))
    activities = list(Activity.objects.filter(workspace=workspace).order_by("date_created", "id"))
    presence = workers_realtime(workspace=workspace)
    queues = _queue_rows(workspace)
    wallboard = wallboard_read(
        workspace=workspace,
        queues=[row.queue for row in queues],
        waiting={row.queue.id: row.waiting for row in queues},
        now=datetime.now(UTC),
    )
    return Board(
        workspace=workspace,
        activities=activities,
        channels=channels,
        queues=[replace(row, hour=wallboard.hours[row.queue.id]) for row in queues],
        workers=_worker_rows(workspace, channels),
        total_workers=presence["total_workers"],
        workers_by_activity=presence["activity_statistics"],
        wallboard=wallboard,
    )


def board_fragment(*, workspace: Workspace, can_manage: bool, request: HttpRequest | None = None) -> str:
    """The board's HTML; `request` gives its forms their CSRF field when a page is rendered (over the
    websocket, htmx sends the page's token as a header instead)."""
    context = {
        "board": board_read(workspace=workspace),
        "can_manage": can_manage,
        "monitor_modes": CallMonitor.Mode.choices,
    }
    return render_to_string(FRAGMENT, context, request=request)


def board_fragment_get(*, account_id: uuid.UUID, workspace_id: uuid.UUID, can_manage: bool) -> str | None:
    """The fragment read in the account's scope (for the websocket, which has no request); None
    once the workspace is gone."""
    with tenant_scope(account_id):
        workspace = Workspace.objects.filter(id=workspace_id).first()
        return None if workspace is None else board_fragment(workspace=workspace, can_manage=can_manage)
