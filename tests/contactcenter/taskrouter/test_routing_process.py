"""`manage.py taskrouter` as real OS processes on committed data: woken by NOTIFY, two of them racing
on one backlog (each task reserved once, no capacity exceeded), and one killed with SIGKILL while it
holds its claims (another assigns the task; nothing is lost). With a real Celery worker delivering
the assignment callbacks: Redis (the broker) crashing and coming back mid-routing, and the worker
killed with a callback in flight or queued."""

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError
from django.db.models import Count, F
from django.utils import timezone

from contactcenter.taskrouter.models import (
    Event,
    Reservation,
    RoutingDue,
    Task,
    Worker,
    WorkerChannel,
    Workflow,
)
from contactcenter.taskrouter.task_lifecycle import task_create
from core.sids import sid_to_uuid
from core.tenancy import tenant_scope
from tests.conftest import Tenant, make_tenant
from tests.contactcenter.taskrouter.factories import Setup, make_workspace
from tests.core.test_webhooks import Receiver
from tests.live import celery_worker, redis_server, taskrouter_process

pytestmark = pytest.mark.e2e


@pytest.fixture
def committed(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> Iterator[None]:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        yield


def _until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def _workspace(
    tenant: Tenant, workers: int, available: int | None = None, **workflow: Any
) -> tuple[Setup, str]:
    """A workspace whose first `available` workers (all by default) are available, the rest offline."""
    with tenant_scope(tenant.account.id):
        setup = make_workspace(tenant.account)
        queue = setup.queue("All")
        for number in range(workers):
            setup.worker(f"agent {number}", available=available is None or number < available)
        return setup, setup.workflow({"default_filter": {"queue": queue.sid}}, **workflow).sid


def _sign_in(tenant: Tenant, setup: Setup, *names: str) -> None:
    """The named offline workers (all when none is named) become available, each in its own commit."""
    with tenant_scope(tenant.account.id):
        offline = Worker.objects.filter(available=False).order_by("friendly_name")
        workers = [worker for worker in offline if not names or worker.friendly_name in names]
    for worker in workers:
        with tenant_scope(tenant.account.id):
            setup.sign_in(worker)


def _tasks(tenant: Tenant, setup: Setup, workflow_sid: str, count: int) -> None:
    for number in range(count):
        with tenant_scope(tenant.account.id):
            task_create(
                workspace=setup.workspace, workflow_sid=workflow_sid, attributes=json.dumps({"n": number}),
                priority=None, timeout=None, task_channel=None,
            )  # fmt: skip


def _reservations(tenant: Tenant) -> int:
    with tenant_scope(tenant.account.id):
        return Reservation.objects.count()


def test_two_routing_processes_reserve_each_task_once_within_capacity(committed: None) -> None:
    """The first ten workers get a task each as it is created; the backlog then waits for the other
    fifteen, whose sign-ins wake both processes at once."""
    tenant = make_tenant("Race clinic")
    setup, workflow_sid = _workspace(tenant, workers=25, available=10)
    with taskrouter_process(), taskrouter_process():
        _tasks(tenant, setup, workflow_sid, 60)  # each committed on its own, each a NOTIFY
        assert _reservations(tenant) >= 10
        _sign_in(tenant, setup)
        _until(lambda: _reservations(tenant) >= 25)
        time.sleep(1.0)  # time for a double reservation to show, if either process made one

    with tenant_scope(tenant.account.id):
        assert Reservation.objects.count() == 25
        per_task = Reservation.objects.values("task_id").annotate(n=Count("id")).filter(n__gt=1)
        assert not per_task.exists()
        per_worker = Reservation.objects.values("worker_id").annotate(n=Count("id")).filter(n__gt=1)
        assert not per_worker.exists()
        assert not WorkerChannel.objects.filter(assigned_tasks__gt=F("capacity")).exists()
        assert Task.objects.filter(status="reserved").count() == 25


def _task_locked(tenant: Tenant) -> bool:
    try:
        with tenant_scope(tenant.account.id):
            list(Task.objects.select_for_update(nowait=True))
    except DatabaseError:
        return True
    return False


def _idle(setup: Setup) -> bool:
    """The workspace waits for a wake: a pass found nothing to do (the workers' wakes made it due)."""
    return RoutingDue.objects.get(workspace_id=setup.workspace.id).due_at is None


def _due_later(setup: Setup) -> bool:
    due = RoutingDue.objects.get(workspace_id=setup.workspace.id).due_at
    return due is not None and due > timezone.now()


def test_a_routing_process_killed_mid_assignment_loses_nothing(committed: None) -> None:
    tenant = make_tenant("Kill clinic")
    setup, workflow_sid = _workspace(tenant, workers=1, available=0)
    with taskrouter_process("--hold-seconds", "60") as doomed:
        _tasks(tenant, setup, workflow_sid, 1)
        _sign_in(tenant, setup)
        _until(lambda: _task_locked(tenant))  # its pass holds the task and the worker, uncommitted
        with taskrouter_process():
            # The survivor has run a pass (it skipped what the doomed one holds, and rescheduled).
            _until(lambda: _due_later(setup))
            assert _reservations(tenant) == 0
            doomed.send_signal(signal.SIGKILL)
            doomed.wait()
            _until(lambda: _reservations(tenant) == 1)

    with tenant_scope(tenant.account.id):
        reservation = Reservation.objects.get()
        assert reservation.status == "pending" and Task.objects.get().status == "reserved"
        assert WorkerChannel.objects.get(task_channel__unique_name="default").assigned_tasks == 1


def test_a_task_created_while_a_pass_runs_is_routed_at_once_not_at_the_sweep(committed: None) -> None:
    """The second create finds the workspace due already, so it writes no routing-due row (nor waits
    for it) and the pass then running reschedules to the reservation's timeout: only its NOTIFY,
    which the process reads after that pass, gets the task routed. (The first task waits behind
    the pass's uncommitted offer of it, so the second is not offered as it is created.)"""
    tenant = make_tenant("Wake clinic")
    setup, workflow_sid = _workspace(tenant, workers=2, available=0)
    with taskrouter_process("--hold-seconds", "3"):
        # Its first pass (every workspace, run once it listens) must be over first: one that ran beside
        # the first create could miss the task and leave the workspace waiting for a wake (due_at
        # NULL), which the second create would then rightly write.
        _until(lambda: _idle(setup))
        _tasks(tenant, setup, workflow_sid, 1)
        _sign_in(tenant, setup, "agent 0")
        _until(lambda: _task_locked(tenant))  # the first pass holds its reservation, uncommitted
        _sign_in(tenant, setup, "agent 1")
        version = _version(setup)
        _tasks(tenant, setup, workflow_sid, 1)
        assert _version(setup) == version  # the row was due: the create neither wrote nor waited
        created = time.monotonic()
        _until(lambda: _reservations(tenant) == 2, timeout=25.0)
        # The rest of the first pass's hold and the second pass's own (seconds on a loaded machine), not
        # SWEEP_SECONDS (30).
        assert time.monotonic() - created < 15.0


def _version(setup: Setup) -> int:
    return RoutingDue.objects.get(workspace_id=setup.workspace.id).version


ACCEPT = json.dumps({"instruction": "accept"}).encode()


@pytest.fixture
def app() -> Iterator[Receiver]:
    """The tenant's assignment callback: answers every reservation with `accept`, in 2 s (time to
    kill the worker delivering it)."""
    receiver = Receiver([], delay=2.0, answer=ACCEPT, content_type="application/json")
    yield receiver
    receiver.close()


def _outcome(tenant: Tenant) -> list[tuple[str, str, str]]:
    """Each reservation as (task, worker, status), in the order they were made."""
    with tenant_scope(tenant.account.id):
        rows = Reservation.objects.order_by("date_created").values_list("task_id", "worker_name", "status")
        return [(str(task), worker, status) for task, worker, status in rows]


def _assigned(tenant: Tenant, count: int) -> bool:
    with tenant_scope(tenant.account.id):
        return Task.objects.filter(status="assigned").count() == count


def _called_back(app: Receiver) -> list[str]:
    return [request["form"]["ReservationSid"][0] for request in app.requests]


def _accepted_sids(tenant: Tenant) -> list[str]:
    with tenant_scope(tenant.account.id):
        return [r.sid for r in Reservation.objects.filter(status="accepted").order_by("date_created")]


def test_a_redis_restart_mid_routing_loses_no_task_and_reserves_none_twice(committed: None) -> None:
    """Redis, the Celery broker, crashes: two tasks are offered meanwhile, and their callbacks cannot
    be queued. The offers time out and the tasks are offered to the next workers; with Redis back
    (empty), those callbacks reach the app through the reconnected worker and both tasks are
    assigned, each once. The routing process and the worker live through it."""
    tenant = make_tenant("Redis clinic")
    app = Receiver([], answer=ACCEPT, content_type="application/json")
    setup, workflow_sid = _workspace(
        tenant, workers=4, assignment_callback_url=app.url + "/assign", task_reservation_timeout=6
    )
    with (
        redis_server() as redis,
        celery_worker(REDIS_URL=redis.url) as worker,
        taskrouter_process(REDIS_URL=redis.url) as router,
    ):
        redis.crash()
        _tasks(tenant, setup, workflow_sid, 2)
        _until(lambda: len(_outcome(tenant)) == 2)
        time.sleep(3.0)  # each refused publish takes Celery under a second
        assert not app.requests and [status for *_, status in _outcome(tenant)] == ["pending"] * 2
        redis.start()
        _until(lambda: _assigned(tenant, 2), timeout=30)
        assert router.poll() is None and worker.poll() is None
    app.close()

    outcome = _outcome(tenant)
    assert [status for *_, status in outcome] == ["timeout", "timeout", "accepted", "accepted"]
    assert {task for task, *_ in outcome[:2]} == {task for task, *_ in outcome[2:]}
    assert len({worker for _, worker, _ in outcome}) == 4  # one who let it time out is not offered it again
    assert sorted(_called_back(app)) == sorted(_accepted_sids(tenant))  # the lost two were never sent
    with tenant_scope(tenant.account.id):
        assert sum(WorkerChannel.objects.values_list("assigned_tasks", flat=True)) == 2


def _child(worker: Any) -> int:
    """The pid of a prefork worker's one pool process."""
    (child,) = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
    return int(child)


def test_a_worker_process_killed_mid_callback_runs_it_again_and_applies_it_once(
    committed: None, app: Receiver
) -> None:
    """The Procfile's prefork worker loses its pool process (SIGKILL) while the app is answering: the
    callback, acked late, goes back to the broker and is sent again; the reservation is accepted
    once, by the answer to the second request."""
    tenant = make_tenant("Pool clinic")
    setup, workflow_sid = _workspace(tenant, workers=1, assignment_callback_url=app.url + "/assign")
    with taskrouter_process(), celery_worker(pool="prefork") as worker:
        _tasks(tenant, setup, workflow_sid, 1)
        _until(lambda: len(app.requests) == 1)
        os.kill(_child(worker), signal.SIGKILL)
        _until(lambda: _assigned(tenant, 1), timeout=30)

    (reservation,) = _accepted_sids(tenant)
    assert _called_back(app) == [reservation, reservation]
    with tenant_scope(tenant.account.id):
        assert Event.objects.filter(event_type="reservation.accepted").count() == 1


def test_a_worker_killed_with_callbacks_in_flight_and_queued_leaves_no_reservation_pending(
    committed: None, app: Receiver
) -> None:
    """The whole worker is SIGKILLed while the app answers: that offer times out and the task is
    offered to the next worker, whose callback waits in the broker until a worker starts again,
    which sends it; the task is assigned."""
    tenant = make_tenant("Crash clinic")
    setup, workflow_sid = _workspace(
        tenant, workers=2, assignment_callback_url=app.url + "/assign", task_reservation_timeout=3
    )
    with taskrouter_process():
        with celery_worker() as worker:
            _tasks(tenant, setup, workflow_sid, 1)
            _until(lambda: len(app.requests) == 1)
            with tenant_scope(tenant.account.id):  # the next offer lasts as long as a worker takes to start
                workflow = Workflow.objects.filter(id=sid_to_uuid(workflow_sid, "WW"))
                workflow.update(task_reservation_timeout=120)
            worker.kill()
            worker.wait()
        _until(lambda: len(_outcome(tenant)) == 2)  # offered again, its callback queued
        assert len(app.requests) == 1
        with celery_worker():
            _until(lambda: _assigned(tenant, 1), timeout=30)

    outcome = _outcome(tenant)
    assert [status for _, _, status in outcome] == ["timeout", "accepted"]
    assert _called_back(app)[1:] == _accepted_sids(tenant)
