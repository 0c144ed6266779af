"""Real-time statistics read a fixed number of grouped queries however many tasks, workers and queues
there are (a wallboard polls them), and cumulative ones one query however many queues."""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from contactcenter.taskrouter import statistics
from contactcenter.taskrouter.models import TaskQueue, Worker
from contactcenter.taskrouter.task_lifecycle import task_create
from tests.contactcenter.taskrouter.factories import Setup


def grow(setup: Setup, queues: list[TaskQueue], *, workers: int, tasks: int) -> list[Worker]:
    """New workers, offline (the tasks wait: none is offered as created), and tasks."""
    workflow = setup.workflow({"default_filter": {"queue": queues[0].sid}})
    hired = [setup.worker(f"agent {len(queues)}-{n}", {"n": n}, available=False) for n in range(workers)]
    for number in range(tasks):
        task_create(
            workspace=setup.workspace,
            workflow_sid=workflow.sid,
            attributes=json.dumps({"n": number}),
            priority=number % 3,
            timeout=None,
            task_channel=None,
        )
    return hired


def queries(read: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as captured:
        read()
    return len(captured.captured_queries)


def test_realtime_statistics_queries_do_not_grow_with_tasks_workers_or_queues(setup: Setup) -> None:
    queues = [setup.queue("First")]
    first = grow(setup, queues, workers=2, tasks=2)
    end = datetime.now(UTC) + timedelta(minutes=1)

    def read_all() -> None:
        statistics.task_queues_realtime(workspace=setup.workspace, queues=queues)
        statistics.task_queues_cumulative(
            workspace=setup.workspace, queues=queues, start=end - timedelta(hours=1), end=end, splits=[5, 30]
        )
        statistics.workspace_realtime(workspace=setup.workspace)
        statistics.workers_realtime(workspace=setup.workspace)

    small = queries(read_all)
    queues += [setup.queue(f"Queue {n}") for n in range(5)]
    second = grow(setup, queues, workers=40, tasks=60)
    setup.sign_in(*first[::2], *second[::2])  # no pass runs: the tasks stay pending
    large = queries(read_all)
    assert small == large <= 14

    found = statistics.task_queues_realtime(workspace=setup.workspace, queues=queues)[queues[0].id]
    assert found["total_tasks"] == 62 and found["tasks_by_status"]["pending"] == 62
    assert found["total_eligible_workers"] == 42 and found["total_available_workers"] == 21
    assert found["tasks_by_priority"] == {"0": 21, "1": 21, "2": 20}
