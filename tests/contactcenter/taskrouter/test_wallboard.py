"""The wallboard's numbers on constructed tasks driven through the engine's services: service level
(answered within the queue's threshold, of answered and abandoned), abandoned, longest wait, each
agent's current task, the minute-by-minute waiting walked back from now, and a read whose query
count does not grow with the workspace."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contactcenter.taskrouter.board import board_fragment, board_read
from contactcenter.taskrouter.models import Event, Reservation, Task, TaskQueue, Workflow
from contactcenter.taskrouter.reservations import reservation_update
from contactcenter.taskrouter.task_lifecycle import task_create, task_update
from contactcenter.taskrouter.wallboard import MINUTES, _whole
from core.tenancy import tenant_activate
from tenants.models import Role
from tests.conftest import Tenant
from tests.contactcenter.taskrouter.factories import Setup
from tests.contactcenter.taskrouter.test_portal import front_desk, signed_in

pytestmark = pytest.mark.django_db


def _task(setup: Setup, workflow: Workflow, *, waited_seconds: int = 0) -> Task:
    """A task that has waited `waited_seconds` already (its age anchor moved back)."""
    task = task_create(
        workspace=setup.workspace, workflow_sid=workflow.sid, attributes=json.dumps({"from": "+15550100"}),
        priority=None, timeout=None, task_channel="default",
    )  # fmt: skip
    if waited_seconds:
        anchor = timezone.now() - timedelta(seconds=waited_seconds)
        Task.objects.filter(id=task.id).update(age_anchor_at=anchor)
        task.refresh_from_db()
    return task


def _accept(task: Task) -> Reservation:
    reservation = Reservation.objects.get(task=task, status="pending")
    return reservation_update(reservation=reservation, status="accepted")


def _support(setup: Setup, service_level_seconds: int = 20) -> tuple[TaskQueue, Workflow]:
    queue = setup.queue("Support", service_level_seconds=service_level_seconds)
    return queue, setup.workflow({"default_filter": {"queue": queue.sid}})


def test_service_level_abandoned_and_longest_wait_of_constructed_tasks(setup: Setup) -> None:
    queue, workflow = _support(setup, service_level_seconds=20)
    alice, bob = setup.worker("alice"), setup.worker("bob")
    quick = _task(setup, workflow, waited_seconds=5)
    slow = _task(setup, workflow, waited_seconds=45)
    setup.route()
    _accept(quick), _accept(slow)  # one within 20 s, one after
    abandoned = _task(setup, workflow)
    task_update(task=abandoned, assignment_status="canceled", reason="The caller hung up")
    oldest = _task(setup, workflow, waited_seconds=90)  # alice and bob are busy: it waits
    _task(setup, workflow)

    board = board_read(workspace=setup.workspace)

    row = board.queues[0]
    assert row.queue == queue and row.hour is not None
    assert (row.waiting, row.longest_waiting_since) == (2, oldest.age_anchor_at)
    assert (row.hour.answered, row.hour.answered_within, row.hour.abandoned) == (2, 1, 1)
    assert row.hour.service_level_percent == 33  # 1 within 20 s of 2 answered + 1 abandoned
    current = {r.worker.friendly_name: [(t.sid, t.queue, t.status) for t in r.tasks] for r in board.workers}
    reserved = {r.worker_id: r.task.sid for r in Reservation.objects.filter(status="accepted")}
    assert current == {
        "alice": [(reserved[alice.id], "Support", "accepted")],
        "bob": [(reserved[bob.id], "Support", "accepted")],
    }
    assert board.wallboard is not None
    [waiting], [level] = board.wallboard.waiting, board.wallboard.service_level
    assert waiting.key == queue.sid and waiting.values[-1] == 2
    assert level.values[-1] == pytest.approx(1 / 3)

    # A threshold of 60 s counts the slow answer too.
    TaskQueue.objects.filter(id=queue.id).update(service_level_seconds=60)
    hour = board_read(workspace=setup.workspace).queues[0].hour
    assert hour is not None and hour.service_level_percent == 67


def test_waiting_each_minute_is_walked_back_from_now_through_the_event_log(setup: Setup) -> None:
    queue, workflow = _support(setup)
    setup.worker("alice")
    tasks = [_task(setup, workflow) for _ in range(3)]
    setup.route()
    served = Reservation.objects.get(status="pending").task
    _accept(served)
    now = timezone.now()
    entered = Event.objects.filter(workspace=setup.workspace, event_type="task-queue.entered")
    assert entered.count() == 3
    entered.update(date_created=now - timedelta(minutes=30))  # all three came half an hour ago
    Event.objects.filter(event_type="reservation.accepted").update(date_created=now - timedelta(minutes=10))

    [waiting] = board_read(workspace=setup.workspace).wallboard.waiting  # type: ignore[union-attr]

    assert len(waiting.values) == MINUTES and len(tasks) == 3
    assert waiting.values[-1] == 2  # two wait now
    # Each value is what waited at the end of its minute; the last minute is the one running now.
    assert waiting.values[-11] == 2 and waiting.values[-12] == 3  # the answer, ten minutes ago
    assert waiting.values[-31] == 3 and waiting.values[-32] == 0  # before they came, none
    assert set(waiting.values[: MINUTES - 31]) == {0}


def test_the_fragment_draws_both_charts_and_the_new_columns(setup: Setup) -> None:
    queue, workflow = _support(setup)
    setup.worker("alice")
    task = _task(setup, workflow, waited_seconds=3)
    setup.route()
    _accept(task)

    html = board_fragment(workspace=setup.workspace, can_manage=False)

    assert f'<g class="chart-series-0" data-series="{queue.sid}">' in html
    assert html.count('<svg class="chart"') == 2
    assert '<td data-count="answered">1</td>' in html
    assert '<td data-count="abandoned">0</td>' in html
    assert '<td data-count="service-level" title="Answered within 20 s">100%' in html
    assert 'data-count="tasks"><span class="current-task"' in html


def test_the_board_reads_in_as_many_queries_for_a_larger_workspace(setup: Setup) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            board_read(workspace=setup.workspace)
        return len(captured)

    _, workflow = _support(setup)
    setup.queue("Billing", service_level_seconds=30)
    setup.worker("alice")
    _task(setup, workflow)
    setup.route()
    small = queries()
    for n in range(8):
        setup.worker(f"agent {n}")
    for _ in range(20):
        _task(setup, workflow)
    setup.route()
    for reservation in Reservation.objects.filter(status="pending"):
        reservation_update(reservation=reservation, status="accepted")
    assert queries() == small


def test_a_queues_service_level_threshold_is_set_on_its_form_and_a_bad_one_saves_nothing(
    tenant_a: Tenant,
) -> None:
    workspace = front_desk(tenant_a)
    client = signed_in(tenant_a, Role.SUPERVISOR)
    url = f"/routing/{workspace.sid}/queues/new/"
    fields = {
        "friendly_name": "Billing",
        "target_workers": "1==1",
        "max_reserved_workers": 1,
        "task_order": "FIFO",
    }

    refused = client.post(url, {**fields, "service_level_seconds": 0})
    created = client.post(url, {**fields, "service_level_seconds": 45})

    assert refused.status_code == 200 and "greater than or equal to 1" in refused.content.decode()
    assert created.status_code == 302
    tenant_activate(tenant_a.account.id)
    billing = TaskQueue.objects.filter(workspace=workspace, friendly_name="Billing")
    assert list(billing.values_list("service_level_seconds", flat=True)) == [
        45
    ]  # the refused one saved nothing
    board = client.get(f"/routing/{workspace.sid}/").content.decode()
    assert "within 45 s" in board


def test_the_waiting_charts_middle_tick_is_not_rounded_to_a_neighbour() -> None:
    """A quiet hour's axis tops at 1: its middle tick reads 0.5, not a second 0."""
    assert [_whole(v) for v in (0.0, 0.5, 1.0)] == ["0", "0.5", "1"]
    assert [_whole(v) for v in (0.0, 2.5, 5.0)] == ["0", "2.5", "5"]
