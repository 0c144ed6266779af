"""The assignment decision, in the routing pass's one transaction: a queue's head tasks (highest
priority, then oldest, or newest for LIFO) and, for each, the longest-idle eligible workers with room
on its channel, both claimed with `FOR UPDATE SKIP LOCKED`, so two routing processes never reserve one
task twice nor fill one worker channel past its capacity, and a killed one's claims roll back.

Eligibility comes from `TaskQueueWorker` (kept current by `membership`), never from evaluating the
queue's expression; only a target's worker-vs-task `expression` is evaluated, per candidate. A worker
who already had an offer of a task (pending, rejected, timed out) is never offered it again. The SQL
per decision does not grow with the backlog: each queue reads a bounded head, and stops at the first
task whose channel has no free eligible worker at all.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import F, Model

from contactcenter.taskrouter import decision_sql
from contactcenter.taskrouter.events import event_record
from contactcenter.taskrouter.matching import task_matches_worker
from contactcenter.taskrouter.models import (
    Activity,
    Reservation,
    Task,
    TaskChannel,
    TaskQueue,
    WorkerChannel,
    Workflow,
    Workspace,
)
from contactcenter.taskrouter.params import reservation_params
from contactcenter.taskrouter.presence import worker_activity_move
from contactcenter.taskrouter.reservations import task_status_set
from contactcenter.taskrouter.targets import task_target_expression
from contactcenter.taskrouter.tasks import assignment_callback_task

M = TypeVar("M", bound=Model)

HEAD_TASKS = 20  # a queue's tasks one pass considers
CANDIDATES_FOR_EXPRESSION = 50  # workers claimed at once when a target expression must pick among them


@dataclass
class Assigned:
    reservations: int = 0
    more: bool = False  # a queue's head was full: another pass may find more to assign
    # Rows another transaction held were skipped: if that one dies, its work must be decided again
    # soon, so the workspace is not left asleep until its next timer.
    contended: bool = False
    first_timeout: datetime | None = None  # the earliest timeout of the offers made

    def offered(self, timeout_at: datetime) -> None:
        self.first_timeout = min(self.first_timeout or timeout_at, timeout_at)


class _Shared:
    """The task channels, workflows and activities a pass's tasks and workers point to, each read
    once per pass: the same few serve all of them (a prefetch per head and per claim read them again)."""

    def __init__(self) -> None:
        self._rows: dict[type[Model], dict[uuid.UUID, Any]] = {}

    def of(self, model: type[M], ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, M]:
        known = self._rows.setdefault(model, {})
        missing = {row_id for row_id in ids if row_id is not None and row_id not in known}
        if missing:
            known.update((row.pk, row) for row in model._default_manager.filter(pk__in=missing))
        return known


def _head(queue: TaskQueue, assigned: Assigned, shared: _Shared) -> list[Task]:
    lifo = queue.task_order == TaskQueue.Order.LIFO
    head = decision_sql.head_claim(queue.id, lifo=lifo, limit=HEAD_TASKS)
    channels = shared.of(TaskChannel, (task.task_channel_id for task in head))
    workflows = shared.of(Workflow, (task.workflow_id for task in head))
    for task in head:
        task.task_channel = channels[task.task_channel_id]
        task.workflow = workflows.get(task.workflow_id) if task.workflow_id else None
    if len(head) < HEAD_TASKS and decision_sql.pending_besides(queue.id, [task.id for task in head]):
        assigned.contended = True
    return head


def _candidates(
    task: Task, queue: TaskQueue, workspace: Workspace, limit: int, assigned: Assigned, shared: _Shared
) -> list[WorkerChannel]:
    multi_task = workspace.multi_task_enabled
    claimed = decision_sql.channels_claim(task, queue.id, multi_task=multi_task, limit=limit)
    activities = shared.of(Activity, (channel.worker.activity_id for channel in claimed))
    for channel in claimed:
        channel.worker.activity = activities[channel.worker.activity_id]
    if not claimed and decision_sql.channel_eligible(task, queue.id, multi_task=multi_task):
        assigned.contended = True
    return claimed


def _reserve(
    task: Task, queue: TaskQueue, channel: WorkerChannel, workspace: Workspace, now: datetime, shared: _Shared
) -> datetime:
    """Offer the task to the channel's worker; when the offer times out."""
    worker = channel.worker
    worker.workspace = workspace
    timeout = task.workflow.task_reservation_timeout if task.workflow else 120
    reservation = Reservation.objects.create(
        account_id=task.account_id,
        workspace=workspace,
        task=task,
        worker=worker,
        worker_name=worker.friendly_name,
        worker_channel=channel,
        task_queue=queue,
        timeout_at=now + timedelta(seconds=timeout),
    )
    WorkerChannel.objects.filter(id=channel.id).update(
        assigned_tasks=F("assigned_tasks") + 1, idle_since=now
    )
    if queue.reservation_activity_id is not None:
        activity_id = queue.reservation_activity_id
        worker_activity_move(worker, shared.of(Activity, [activity_id])[activity_id])
    event_record(
        workspace=workspace, event_type="reservation.created", resource=reservation,
        description=f"Reservation {reservation.sid} created for worker {worker.friendly_name}",
        data=reservation_params(reservation),
    )  # fmt: skip
    if task.workflow is not None and task.workflow.assignment_callback_url:
        account_id, reservation_id = str(task.account_id), str(reservation.id)
        # Robust: with the broker down, this offer's callback is lost (the reservation times out and
        # the task is offered again), but the pass's other offers still get theirs.
        transaction.on_commit(
            lambda: assignment_callback_task.delay(account_id, reservation_id), robust=True
        )
    return reservation.timeout_at


def _offer(
    task: Task, queue: TaskQueue, workspace: Workspace, now: datetime, assigned: Assigned, shared: _Shared
) -> bool | None:
    """Reserve the task for up to `max_reserved_workers` workers; None when no eligible worker had
    room on its channel at all (so later tasks on that channel need not look)."""
    expression = task_target_expression(task)
    wanted = queue.max_reserved_workers
    limit = CANDIDATES_FOR_EXPRESSION if expression else wanted
    candidates = _candidates(task, queue, workspace, limit, assigned, shared)
    if not candidates:
        return None
    task.task_queue = queue
    chosen = [
        channel
        for channel in candidates
        if expression is None
        or task_matches_worker(expression, task.attributes_json, channel.worker.attributes_json)
    ][:wanted]
    for channel in chosen:
        assigned.offered(_reserve(task, queue, channel, workspace, now, shared))
    if chosen:
        task_status_set(task, Task.Status.RESERVED)
    return bool(chosen)


def assign(workspace: Workspace, *, now: datetime) -> Assigned:
    """Offer the workspace's pending tasks to free workers, queue by queue."""
    assigned = Assigned()
    shared = _Shared()
    for queue in decision_sql.queues_to_offer(workspace.id, multi_task=workspace.multi_task_enabled):
        head = _head(queue, assigned, shared)
        exhausted: set[object] = set()
        made = 0
        for task in head:
            if task.task_channel_id in exhausted:
                continue
            task.workspace = workspace
            offered = _offer(task, queue, workspace, now, assigned, shared)
            if offered is None:
                exhausted.add(task.task_channel_id)
            elif offered:
                made += 1
        assigned.reservations += made
        # A full head that found workers may have more behind it for workers still free.
        assigned.more |= len(head) == HEAD_TASKS and made > 0
    return assigned


def assign_arrival(task: Task, *, now: datetime) -> None:
    """Offer a task just routed, in the transaction storing it, when it heads its queue and an
    eligible worker has room: the offer is made as the task is created instead of after a routing
    pass woken by its commit (bench/routing: that wake and pass were most of the time from creation
    to reservation). A task with others before it waits for the routing process, which offers a
    queue's head first; the claims are the pass's own, so racing passes stay safe."""
    queue = task.task_queue
    if queue is None or task.status != Task.Status.PENDING:
        return
    lifo = queue.task_order == TaskQueue.Order.LIFO
    if not decision_sql.queued_ahead(task, lifo=lifo, multi_task=task.workspace.multi_task_enabled):
        _offer(task, queue, task.workspace, now, Assigned(), _Shared())
