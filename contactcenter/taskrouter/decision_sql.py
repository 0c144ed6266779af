"""The assignment decision's reads, as SQL written out once: the queues with whether any member
could take a task, a queue's head, and the longest-idle free channels of its eligible workers, all
claimed with `FOR UPDATE SKIP LOCKED` where they lock. The ORM spent over ten times the database's
own time building and compiling these on every pass (bench/RESULTS.md, issue 11: 1.7 ms of Python
for a 0.1 ms statement), and they run several times per pass. The statements are the ones the ORM
built, with the same plans; row-level security applies as to any other statement. Rows become model
instances through each field's own database converters, as the ORM's would.
"""

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

from contactcenter.taskrouter.models import Task, TaskQueue, Worker, WorkerChannel

M = TypeVar("M", bound=Model)


def _columns(model: type[Model], alias: str) -> str:
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


def _instance(model: type[M], values: Sequence[Any]) -> M:
    """A model instance from its concrete fields' values as the database returned them."""
    fields = model._meta.concrete_fields
    converted = list(values)
    for index, field in enumerate(fields):
        for convert in field.get_db_converters(connection):
            converted[index] = convert(converted[index], None, connection)
    return model.from_db(connection.alias, [field.attname for field in fields], converted)


def _rows(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# A queue member who could take a task: available, with room on some channel and, unless the
# workspace multi-tasks, no task at all. A loose test (any channel), never a wrong one.
_FREE_MEMBER = """EXISTS (
    SELECT 1 FROM taskrouter_taskqueueworker m JOIN taskrouter_worker mw ON mw.id = m.worker_id
    WHERE m.task_queue_id = q.id AND mw.available
      AND EXISTS (SELECT 1 FROM taskrouter_workerchannel room WHERE room.worker_id = m.worker_id
                  AND room.available AND room.assigned_tasks < room.capacity)
      {idle}
)"""
_IDLE = """AND NOT EXISTS (SELECT 1 FROM taskrouter_workerchannel busy WHERE busy.worker_id = m.worker_id
                  AND busy.assigned_tasks > 0)"""


# Any pending task, locked or not (the claim index's first entry).
_PENDING = "EXISTS (SELECT 1 FROM taskrouter_task t WHERE t.task_queue_id = q.id AND t.status = 'pending')"


def queues_to_offer(workspace_id: uuid.UUID, *, multi_task: bool) -> list[TaskQueue]:
    """The workspace's queues, oldest first, that have a pending task and a worker who could take
    one now. The others' heads are neither locked nor read: with none who could take a task (after
    hours, every agent offline or busy), reading the head cost every pass 20 row locks and a walk of
    every free channel of other queues' workers, however long the backlog waited; with nothing
    pending (every task offered as it was created), the pass a freed worker's wake starts reads no
    head at all."""
    free = _FREE_MEMBER.format(idle="" if multi_task else _IDLE)
    sql = (
        f"SELECT {_columns(TaskQueue, 'q')} FROM taskrouter_taskqueue q "
        f"WHERE q.workspace_id = %s AND {_PENDING} AND {free} ORDER BY q.date_created"
    )
    return [_instance(TaskQueue, row) for row in _rows(sql, [workspace_id])]


def head_claim(queue_id: uuid.UUID, *, lifo: bool, limit: int) -> list[Task]:
    """A queue's first pending tasks (highest priority, then oldest or newest), locked. The task's
    row alone: joined to its channel and workflow, the planner sorted the queue's whole backlog
    instead of walking the claim index."""
    age = "DESC" if lifo else "ASC"
    sql = (
        f"SELECT {_columns(Task, 't')} FROM taskrouter_task t "
        "WHERE t.status = 'pending' AND t.task_queue_id = %s "
        f"ORDER BY t.priority DESC, t.age_anchor_at {age} LIMIT %s FOR UPDATE SKIP LOCKED"
    )
    return [_instance(Task, row) for row in _rows(sql, [queue_id, limit])]


def queued_ahead(task: Task, *, lifo: bool, multi_task: bool) -> bool:
    """Whether a pending task of the task's queue comes before it (higher priority, or as high and
    older, or newer for LIFO) and could want the same workers: on its channel when the workspace
    multi-tasks (each channel's capacity is its own), on any channel when it does not (a worker
    with a task of any channel takes no other)."""
    age = ">=" if lifo else "<="
    channel = "AND t.task_channel_id = %s " if multi_task else ""
    sql = (
        "SELECT EXISTS (SELECT 1 FROM taskrouter_task t WHERE t.status = 'pending' "
        f"AND t.task_queue_id = %s AND t.id <> %s {channel}"
        f"AND (t.priority > %s OR (t.priority = %s AND t.age_anchor_at {age} %s)))"
    )
    params: list[Any] = [task.task_queue_id, task.id]
    params += [task.task_channel_id] if multi_task else []
    params += [task.priority, task.priority, task.age_anchor_at]
    return bool(_rows(sql, params)[0][0])


def pending_besides(queue_id: uuid.UUID, task_ids: Sequence[uuid.UUID]) -> bool:
    """Whether the queue has a pending task other than these (a head short of its limit that
    skipped rows another transaction held)."""
    sql = (
        "SELECT EXISTS (SELECT 1 FROM taskrouter_task t WHERE t.status = 'pending' "
        "AND t.task_queue_id = %s AND NOT (t.id = ANY(%s)))"
    )
    return bool(_rows(sql, [queue_id, list(task_ids)])[0][0])


# A channel that could take the task: free, of an available worker the queue targets who has had
# no offer of it yet (and, unless the workspace multi-tasks, no task at all).
_ELIGIBLE = """FROM taskrouter_workerchannel wc JOIN taskrouter_worker w ON w.id = wc.worker_id
WHERE wc.assigned_tasks < wc.capacity AND wc.available AND wc.task_channel_id = %s AND w.available
  AND wc.worker_id IN (SELECT m.worker_id FROM taskrouter_taskqueueworker m WHERE m.task_queue_id = %s)
  AND NOT EXISTS (SELECT 1 FROM taskrouter_reservation r WHERE r.task_id = %s AND r.worker_id = wc.worker_id)
  {idle}"""
_WORKER_IDLE = """AND NOT EXISTS (SELECT 1 FROM taskrouter_workerchannel busy
                  WHERE busy.worker_id = wc.worker_id AND busy.assigned_tasks > 0)"""


def _eligible(multi_task: bool) -> str:
    return _ELIGIBLE.format(idle="" if multi_task else _WORKER_IDLE)


def channels_claim(task: Task, queue_id: uuid.UUID, *, multi_task: bool, limit: int) -> list[WorkerChannel]:
    """The longest-idle channels that could take the task, each with its worker, both locked. The
    activity is not joined: joined, the planner sorted every eligible channel instead of walking
    `tr_wc_free` in idle order and stopping at the limit."""
    sql = (
        f"SELECT {_columns(WorkerChannel, 'wc')}, {_columns(Worker, 'w')} {_eligible(multi_task)} "
        "ORDER BY wc.idle_since LIMIT %s FOR UPDATE OF wc, w SKIP LOCKED"
    )
    split = len(WorkerChannel._meta.concrete_fields)
    claimed = []
    for row in _rows(sql, [task.task_channel_id, queue_id, task.id, limit]):
        channel = _instance(WorkerChannel, row[:split])
        channel.worker = _instance(Worker, row[split:])
        claimed.append(channel)
    return claimed


def channel_eligible(task: Task, queue_id: uuid.UUID, *, multi_task: bool) -> bool:
    """Whether any channel could take the task, locked or not (none claimed: were they all held?)."""
    sql = f"SELECT EXISTS (SELECT 1 {_eligible(multi_task)})"
    return bool(_rows(sql, [task.task_channel_id, queue_id, task.id])[0][0])
