"""`manage.py taskrouter` as real OS processes on committed data: woken by NOTIFY, two of them racing
on one backlog (each task reserved once, no capacity exceeded), and one killed with SIGKILL while it
holds its claims (another assigns the task; nothing is lost)."""

import json
import signal
import time
from collections.abc import Callable, Iterator

import pytest
from django.db import DatabaseError
from django.db.models import Count, F
from django.utils import timezone

from contactcenter.taskrouter.models import Reservation, RoutingDue, Task, WorkerChannel
from contactcenter.taskrouter.task_lifecycle import task_create
from core.tenancy import tenant_scope
from tests.conftest import Tenant, make_tenant
from tests.contactcenter.taskrouter.factories import Setup, make_workspace
from tests.live import taskrouter_process

pytestmark = pytest.mark.e2e


@pytest.fixture
def committed(django_db_blocker: pytest.FixtureRequest) -> Iterator[None]:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        yield


def _until(check: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def _workspace(tenant: Tenant, workers: int) -> tuple[Setup, str]:
    with tenant_scope(tenant.account.id):
        setup = make_workspace(tenant.account)
        queue = setup.queue("All")
        for number in range(workers):
            setup.worker(f"agent {number}")
        return setup, setup.workflow({"default_filter": {"queue": queue.sid}}).sid


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
    tenant = make_tenant("Race clinic")
    setup, workflow_sid = _workspace(tenant, workers=25)
    with taskrouter_process(), taskrouter_process():
        _tasks(tenant, setup, workflow_sid, 60)  # each committed on its own, each a NOTIFY
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


def _due_later(setup: Setup) -> bool:
    due = RoutingDue.objects.get(workspace_id=setup.workspace.id).due_at
    return due is not None and due > timezone.now()


def test_a_routing_process_killed_mid_assignment_loses_nothing(committed: None) -> None:
    tenant = make_tenant("Kill clinic")
    setup, workflow_sid = _workspace(tenant, workers=1)
    with taskrouter_process("--hold-seconds", "60") as doomed:
        _tasks(tenant, setup, workflow_sid, 1)
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
    which the process reads after that pass, gets the task routed."""
    tenant = make_tenant("Wake clinic")
    setup, workflow_sid = _workspace(tenant, workers=2)
    with taskrouter_process("--hold-seconds", "1"):
        _tasks(tenant, setup, workflow_sid, 1)
        _until(lambda: _task_locked(tenant))  # the first pass holds its reservation, uncommitted
        version = _version(setup)
        _tasks(tenant, setup, workflow_sid, 1)
        assert _version(setup) == version  # the row was due: the create neither wrote nor waited
        created = time.monotonic()
        _until(lambda: _reservations(tenant) == 2, timeout=10.0)
        # The rest of the first pass's hold and the second pass's own, not SWEEP_SECONDS (30).
        assert time.monotonic() - created < 3.0


def _version(setup: Setup) -> int:
    return RoutingDue.objects.get(workspace_id=setup.workspace.id).version
