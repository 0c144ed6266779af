"""The assignment decision on real PostgreSQL: filters and target expressions, escalation, reject and
re-offer, timeouts, capacity per channel, max_reserved_workers, deletes and cancels while reserved."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contactcenter.taskrouter.instructions import instruction_from_rest
from contactcenter.taskrouter.models import (
    Event,
    Reservation,
    RoutingDue,
    Task,
    TaskChannel,
    TaskQueueWorker,
    Worker,
    WorkerChannel,
)
from contactcenter.taskrouter.reservations import reservation_update
from contactcenter.taskrouter.task_lifecycle import task_create, task_update
from contactcenter.taskrouter.workers import worker_channel_update, worker_delete, worker_update
from core.errors import TwilioError
from core.tenancy import tenant_activate
from tests.conftest import Tenant
from tests.contactcenter.taskrouter.factories import Setup, make_workspace

pytestmark = pytest.mark.django_db


def _task(
    setup: Setup, workflow_sid: str, channel: str = "default", priority: int = 0, **attributes: object
) -> Task:
    return task_create(
        workspace=setup.workspace, workflow_sid=workflow_sid, attributes=json.dumps(attributes),
        priority=priority, timeout=None, task_channel=channel,
    )  # fmt: skip


def _reserved_by(task: Task) -> set[str]:
    return {
        r.worker.friendly_name
        for r in Reservation.objects.filter(task=task, status="pending").select_related("worker")
    }


def _types(setup: Setup) -> list[str]:
    return list(
        Event.objects.filter(workspace=setup.workspace)
        .order_by("date_created", "id")
        .values_list("event_type", flat=True)
    )


def test_filters_and_target_expressions_route_to_the_right_queue_and_worker(setup: Setup) -> None:
    billing = setup.queue("Billing", "skills HAS 'billing'")
    support = setup.queue("Support", "skills HAS 'support'")
    setup.worker("alice", {"skills": ["billing"], "level": 1})
    setup.worker("bob", {"skills": ["billing"], "level": 3})
    setup.worker("carol", {"skills": ["support"], "level": 5})
    workflow = setup.workflow({
        "filters": [
            {"filter_friendly_name": "Billing", "expression": "type == 'billing'",
             "targets": [{"queue": billing.sid, "expression": "worker.level >= task.min_level"}]},
        ],
        "default_filter": {"queue": support.sid},
    })  # fmt: skip

    hard = _task(setup, workflow.sid, type="billing", min_level=2)
    other = _task(setup, workflow.sid, type="sales")
    assert setup.route().reservations == 0  # each was offered as it was created

    hard.refresh_from_db()
    other.refresh_from_db()
    assert (hard.task_queue_id, hard.status, _reserved_by(hard)) == (billing.id, "reserved", {"bob"})
    assert (other.task_queue_id, _reserved_by(other)) == (support.id, {"carol"})
    types = _types(setup)
    assert types.count("reservation.created") == 2
    assert {"task.created", "workflow.target-matched", "task-queue.entered"} <= set(types)


def test_a_target_timeout_escalates_to_the_next_target(setup: Setup) -> None:
    first = setup.queue("Tier 1", "tier == 1")
    second = setup.queue("Tier 2", "tier == 2")
    setup.worker("tier2", {"tier": 2})
    workflow = setup.workflow({
        "filters": [{"filter_friendly_name": "All", "expression": "1==1",
                     "targets": [{"queue": first.sid, "timeout": 30}, {"queue": second.sid}]}],
    })  # fmt: skip
    task = _task(setup, workflow.sid)
    assert setup.route().reservations == 0  # nobody in tier 1
    task.refresh_from_db()
    assert task.task_queue_id == first.id and task.escalates_at == task.age_anchor_at + timedelta(seconds=30)

    Task.objects.filter(id=task.id).update(escalates_at=timezone.now() - timedelta(seconds=1))
    result = setup.route()

    task.refresh_from_db()
    assert result.escalated == 1 and result.reservations == 1
    assert task.task_queue_id == second.id and _reserved_by(task) == {"tier2"}
    assert "task-queue.timeout" in _types(setup)


def test_a_rejected_task_is_offered_to_another_worker_never_the_rejecter(setup: Setup) -> None:
    queue = setup.queue("All")
    alice = setup.worker("alice")
    setup.worker("bob")
    workflow = setup.workflow({"default_filter": {"queue": queue.sid}})
    task = _task(setup, workflow.sid)
    setup.route()
    first = Reservation.objects.get(task=task)
    rejecter = first.worker_name
    reservation_update(reservation=first, status="rejected", worker_activity_sid=setup.available.sid)
    task.refresh_from_db()
    assert task.status == "pending"

    setup.route()
    assert _reserved_by(task) == {"bob" if rejecter == "alice" else "alice"}
    second = Reservation.objects.get(task=task, status="pending")
    reservation_update(reservation=second, status="rejected")
    setup.route()
    task.refresh_from_db()
    assert task.status == "pending" and _reserved_by(task) == set()  # both declined: offered to nobody
    assert alice.id  # the rejecters stay available for other work
    assert Worker.objects.filter(available=True).count() == 2


def test_a_reservation_timeout_reoffers_the_task_and_moves_the_worker(setup: Setup) -> None:
    queue = setup.queue("All")
    setup.worker("alice")
    workflow = setup.workflow({"default_filter": {"queue": queue.sid}}, task_reservation_timeout=60)
    task = _task(setup, workflow.sid)
    setup.route()
    reservation = Reservation.objects.get(task=task)
    assert (
        reservation.timeout_at == reservation.date_created + timedelta(seconds=60) or reservation.timeout_at
    )
    Reservation.objects.filter(id=reservation.id).update(timeout_at=timezone.now() - timedelta(seconds=1))

    result = setup.route()

    reservation.refresh_from_db()
    task.refresh_from_db()
    alice = Worker.objects.get(friendly_name="alice")
    assert result.timed_out == 1
    assert (reservation.status, task.status) == ("timeout", "pending")
    assert (
        alice.activity_id == setup.unavailable.id and not alice.available
    )  # the workspace's timeout activity
    assert WorkerChannel.objects.get(worker=alice, task_channel__unique_name="default").assigned_tasks == 0
    assert {"reservation.timeout", "worker.activity.update"} <= set(_types(setup))


def test_a_pass_reads_its_timers_only_once_due_and_sleeps_until_its_offer_times_out(setup: Setup) -> None:
    """Its deadlines come with its workspace: with none passed, no timer's rows are read; its own
    offer's timeout (the earliest deadline now) is when the workspace next needs a pass."""
    queue = setup.queue("All")
    alice = setup.worker("alice", available=False)
    workflow = setup.workflow({"default_filter": {"queue": queue.sid}}, task_reservation_timeout=60)
    task = _task(setup, workflow.sid)
    setup.sign_in(alice)
    with CaptureQueriesContext(connection) as captured:
        assert setup.route().reservations == 1
    timers = [q["sql"] for q in captured if any(f'"{field}" <=' in q["sql"] for field in TIMER_FIELDS)]
    assert timers == []
    reservation = Reservation.objects.get(task=task)
    assert RoutingDue.objects.get(workspace_id=setup.workspace.id).due_at == reservation.timeout_at


TIMER_FIELDS = ("timeout_at", "expires_at", "escalates_at")


def test_capacity_is_per_channel(setup: Setup) -> None:
    queue = setup.queue("All")
    agent = setup.worker("agent")
    setup.capacity(agent, "voice", 1)
    setup.capacity(agent, "sms", 3)
    workflow = setup.workflow({"default_filter": {"queue": queue.sid}})
    calls = [_task(setup, workflow.sid, "voice") for _ in range(2)]
    texts = [_task(setup, workflow.sid, "sms") for _ in range(4)]

    assert setup.route().reservations == 0  # offered as they were created, while the agent had room

    assert sum(bool(_reserved_by(task)) for task in calls) == 1
    assert sum(bool(_reserved_by(task)) for task in texts) == 3
    channels = dict(
        WorkerChannel.objects.filter(worker=agent).values_list("task_channel__unique_name", "assigned_tasks")
    )
    assert channels["voice"] == 1 and channels["sms"] == 3

    # Completing one text makes room for the fourth.
    done = next(task for task in texts if _reserved_by(task))
    reservation_update(reservation=Reservation.objects.get(task=done), status="accepted")
    task_update(task=done, assignment_status="completed")
    assert setup.route().reservations == 1
    assert sum(bool(_reserved_by(task)) for task in texts) == 3


def test_max_reserved_workers_offers_several_and_accepting_one_rescinds_the_others(setup: Setup) -> None:
    queue = setup.queue("All", max_reserved_workers=3)
    for name in ("a", "b", "c", "d"):
        setup.worker(name)
    workflow = setup.workflow({"default_filter": {"queue": queue.sid}})
    task = _task(setup, workflow.sid)
    setup.route()
    offers = list(Reservation.objects.filter(task=task))
    assert len(offers) == 3

    reservation_update(reservation=offers[0], status="accepted")

    statuses = sorted(Reservation.objects.filter(task=task).values_list("status", flat=True))
    task.refresh_from_db()
    assert task.status == "assigned" and statuses == ["accepted", "rescinded", "rescinded"]
    assert WorkerChannel.objects.filter(task_channel__unique_name="default", assigned_tasks=1).count() == 1
    with pytest.raises(TwilioError):
        reservation_update(reservation=offers[1], status="accepted")


def test_a_worker_deleted_while_reserved_cancels_the_reservation_and_the_task_is_reoffered(
    setup: Setup,
) -> None:
    queue = setup.queue("All")
    setup.worker("alice")
    workflow = setup.workflow({"default_filter": {"queue": queue.sid}})
    task = _task(setup, workflow.sid)
    setup.route()
    reservation = Reservation.objects.get(task=task)
    setup.worker("bob")

    worker_delete(worker=reservation.worker)

    reservation.refresh_from_db()
    task.refresh_from_db()
    assert (reservation.status, reservation.worker_id, task.status) == ("canceled", None, "pending")
    setup.route()
    assert _reserved_by(task) == {"bob"}


def test_a_task_canceled_while_reserved_cancels_the_reservation_and_frees_the_worker(setup: Setup) -> None:
    queue = setup.queue("All")
    alice = setup.worker("alice")
    workflow = setup.workflow({"default_filter": {"queue": queue.sid}})
    task = _task(setup, workflow.sid)
    later = _task(setup, workflow.sid)
    setup.route()
    assert _reserved_by(task) == {"alice"}

    task_update(task=task, assignment_status="canceled", reason="caller hung up")

    assert Reservation.objects.get(task=task).status == "canceled"
    assert WorkerChannel.objects.get(worker=alice, task_channel__unique_name="default").assigned_tasks == 0
    setup.route()
    assert _reserved_by(later) == {"alice"}
    with pytest.raises(TwilioError):
        task_update(task=task, assignment_status="completed")


def test_a_task_past_its_ttl_is_canceled(setup: Setup) -> None:
    queue = setup.queue("All")
    workflow = setup.workflow({"default_filter": {"queue": queue.sid}})
    task = _task(setup, workflow.sid)
    Task.objects.filter(id=task.id).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert setup.route().expired == 1
    task.refresh_from_db()
    assert (task.status, task.reason) == ("canceled", "Task TTL Exceeded")


def test_higher_priority_first_then_oldest(setup: Setup) -> None:
    queue = setup.queue("All")
    workflow = setup.workflow({"default_filter": {"queue": queue.sid}})
    old = _task(setup, workflow.sid)
    urgent = _task(setup, workflow.sid, priority=5)
    _task(setup, workflow.sid)
    setup.worker("alice")
    setup.route()
    assert _reserved_by(urgent) == {"alice"}
    setup.worker("bob")
    setup.route()
    assert _reserved_by(old) == {"bob"}


def test_worker_attribute_changes_update_queue_membership(setup: Setup) -> None:
    queue = setup.queue("Spanish", "languages HAS 'es'")
    worker = setup.worker("alice", {"languages": ["en"]})
    assert not TaskQueueWorker.objects.filter(task_queue=queue).exists()
    worker_update(worker=worker, attributes=json.dumps({"languages": ["en", "es"]}))
    assert TaskQueueWorker.objects.filter(task_queue=queue, worker=worker).exists()
    worker_channel_update(
        worker_channel=WorkerChannel.objects.get(worker=worker, task_channel__unique_name="sms"), capacity=3
    )
    assert "worker.capacity.update" in _types(setup)


@pytest.mark.parametrize("backlog", [30, 3000])
def test_the_decisions_sql_stays_flat_as_the_backlog_grows(setup: Setup, backlog: int) -> None:
    queue = setup.queue("All")
    workflow = setup.workflow({"default_filter": {"queue": queue.sid}})
    now = timezone.now()
    Task.objects.bulk_create(
        Task(account_id=setup.workspace.account_id, workspace=setup.workspace, workflow=workflow,
             task_channel=TaskChannel.objects.get(workspace=setup.workspace, unique_name="default"),
             task_queue=queue, routing_filter="Default Filter", age_anchor_at=now - timedelta(seconds=i),
             expires_at=now + timedelta(days=1))
        for i in range(backlog)
    )  # fmt: skip
    setup.worker("alice")
    setup.worker("bob")
    with CaptureQueriesContext(connection) as idle:
        Worker.objects.update(available=False)
        setup.route()
    Worker.objects.update(available=True)
    with CaptureQueriesContext(connection) as busy:
        assert setup.route().reservations == 2
    # Same number of statements whatever the backlog: no scan of every pending task per decision.
    assert len(idle) <= 22, [q["sql"] for q in idle]
    assert len(busy) <= 32, [q["sql"] for q in busy]
    FLAT[backlog] = (len(idle), len(busy))
    if len(FLAT) == 2:
        assert FLAT[30] == FLAT[3000]


FLAT: dict[int, tuple[int, int]] = {}


def test_taskrouter_rows_are_invisible_to_other_tenant(tenant_b: Tenant, setup: Setup) -> None:
    queue = setup.queue("All")
    setup.worker("alice")
    workflow = setup.workflow({"default_filter": {"queue": queue.sid}})
    _task(setup, workflow.sid)
    setup.route()
    tenant_activate(tenant_b.account.id)
    for model in (Task, Reservation, Worker, Event, WorkerChannel, TaskQueueWorker):
        assert not model.objects.exists(), model


def test_instructions_a_reservation_cannot_follow_leave_it_pending(setup: Setup) -> None:
    queue = setup.queue("All")
    setup.worker("alice")
    workflow = setup.workflow({"default_filter": {"queue": queue.sid}})
    task = _task(setup, workflow.sid)
    setup.route()
    reservation = Reservation.objects.get(task=task)

    refusals = [
        (instruction_from_rest("dequeue", {"DequeueFrom": "+12025550100"}), 40135),
        (instruction_from_rest("conference", {}), 55555),
        (instruction_from_rest("redirect", {"RedirectUrl": "https://example.com/x"}), 40123),
    ]
    for instruction, code in refusals:
        with pytest.raises(TwilioError) as refused:
            reservation_update(reservation=reservation, instruction=instruction)
        assert refused.value.twilio_code == code
        reservation.refresh_from_db()
        assert reservation.status == "pending"

    accepted = reservation_update(reservation=reservation, instruction=instruction_from_rest("accept", {}))
    assert accepted.status == "accepted"
    with pytest.raises(TwilioError) as late:
        reservation_update(
            reservation=reservation, instruction=instruction_from_rest("call", {"CallUrl": "https://x"})
        )
    assert late.value.twilio_code == 40114


def test_a_dequeue_or_call_to_another_accounts_softphone_is_refused_before_anything_rings(
    tenant_b: Tenant, setup: Setup
) -> None:
    mallory = make_workspace(tenant_b.account).worker("mallory")
    tenant_activate(setup.workspace.account_id)
    queue = setup.queue("All")
    setup.worker("alice")
    task = _task(setup, setup.workflow({"default_filter": {"queue": queue.sid}}).sid)
    setup.route()
    reservation = Reservation.objects.get(task=task)

    theirs = f"client:{mallory.sid}"
    refusals = [
        (instruction_from_rest("dequeue", {"DequeueTo": theirs, "DequeueFrom": "+12025550100"}), 40135),
        (
            instruction_from_rest(
                "call", {"CallTo": theirs, "CallFrom": "+12025550100", "CallUrl": "https://example.com/agent"}
            ),
            40114,
        ),
    ]
    for instruction, code in refusals:
        with pytest.raises(TwilioError) as refused:
            reservation_update(reservation=reservation, instruction=instruction)
        assert (refused.value.twilio_code, refused.value.message) == (
            code,
            f"{theirs} is not a worker of this account: only client:<worker SID> may be dialled",
        )
        reservation.refresh_from_db()
        assert reservation.status == "pending"


def test_the_longest_idle_worker_is_offered_first(setup: Setup) -> None:
    """Idle since the last reservation or since becoming available, whichever is later: a worker
    back from a break waits behind one idle since before it, and one just reserved goes last."""
    queue = setup.queue("All")
    workflow = setup.workflow({"default_filter": {"queue": queue.sid}})
    first, second, back = (setup.worker(name) for name in ("first", "second", "back"))
    setup.capacity(first, "default", 2)
    worker_update(worker=back, activity_sid=setup.unavailable.sid)
    worker_update(worker=back, activity_sid=setup.available.sid)
    order = []
    for _ in range(4):
        task = _task(setup, workflow.sid)
        setup.route()
        order.append(_reserved_by(task))
    assert order == [{"first"}, {"second"}, {"back"}, {"first"}]


def test_a_queue_whose_members_are_all_away_is_not_read(setup: Setup) -> None:
    """Its backlog waits without the pass locking or reading its head; a member back brings it back."""
    claims = setup.queue("Claims", "team == 'claims'")
    support = setup.queue("Support", "team == 'support'")
    to_claims = {"filter_name": "Claims", "expression": "kind == 'claim'", "targets": [{"queue": claims.sid}]}
    workflow = setup.workflow({"filters": [to_claims], "default_filter": {"queue": support.sid}})
    carol = setup.worker("carol", {"team": "claims"}, available=False)
    dave = setup.worker("dave", {"team": "support"}, available=False)
    claim = _task(setup, workflow.sid, kind="claim")
    help_ = _task(setup, workflow.sid, kind="help")
    setup.sign_in(dave)
    with CaptureQueriesContext(connection) as captured:
        assert setup.route().reservations == 1
    heads = [q["sql"] for q in captured if "FOR UPDATE" in q["sql"] and "task_queue_id" in q["sql"]]
    assert any(support.id.hex in sql for sql in heads), heads
    assert not any(claims.id.hex in sql for sql in heads), heads
    assert _reserved_by(help_) == {"dave"} and _reserved_by(claim) == set()
    worker_update(worker=carol, activity_sid=setup.available.sid)
    assert setup.route().reservations == 1
    assert _reserved_by(claim) == {"carol"}


def test_a_task_created_while_a_worker_has_room_is_offered_in_its_create(setup: Setup) -> None:
    """No routing pass needed: the offer is in the create's transaction, after the task's routing
    events; the pass its commit wakes finds nothing to offer and sleeps until the offer times out."""
    queue = setup.queue("All")
    setup.worker("alice")
    workflow = setup.workflow({"default_filter": {"queue": queue.sid}}, task_reservation_timeout=60)

    task = _task(setup, workflow.sid)

    reservation = Reservation.objects.get(task=task)
    assert (task.status, reservation.status, reservation.worker_name) == ("reserved", "pending", "alice")
    assert reservation.date_created - task.date_created < timedelta(seconds=1)
    assert _types(setup)[-4:] == [
        "task.created", "workflow.target-matched", "task-queue.entered", "reservation.created"
    ]  # fmt: skip
    assert setup.route().reservations == 0
    assert RoutingDue.objects.get(workspace_id=setup.workspace.id).due_at == reservation.timeout_at


def test_a_task_created_behind_waiting_ones_leaves_the_free_worker_to_the_oldest(setup: Setup) -> None:
    """A worker signing in frees room before any pass: a task created then is not offered ahead of
    the queue's older ones; the pass offers the oldest first."""
    queue = setup.queue("All")
    alice = setup.worker("alice", available=False)
    workflow = setup.workflow({"default_filter": {"queue": queue.sid}})
    older = _task(setup, workflow.sid)
    setup.sign_in(alice)

    newer = _task(setup, workflow.sid)

    assert (newer.status, Reservation.objects.count()) == ("pending", 0)
    assert setup.route().reservations == 1
    assert (_reserved_by(older), _reserved_by(newer)) == ({"alice"}, set())


@pytest.mark.parametrize("multi_task", [True, False])
def test_a_task_waiting_on_another_channel_holds_back_a_new_one_only_without_multitasking(
    setup: Setup, multi_task: bool
) -> None:
    """With multitasking each channel's capacity is its own, so a call waiting for a voice slot
    does not keep a text from the agent's free sms slots; without it, an agent with any task takes
    no other, so the waiting call would want the same agent and comes first."""
    setup.workspace.multi_task_enabled = multi_task
    setup.workspace.save()
    queue = setup.queue("All")
    agent = setup.worker("agent")
    setup.capacity(agent, "voice", 0)
    workflow = setup.workflow({"default_filter": {"queue": queue.sid}})
    _task(setup, workflow.sid, "voice")

    text = _task(setup, workflow.sid, "sms")

    assert text.status == ("reserved" if multi_task else "pending")


def test_a_pass_with_nothing_pending_reads_no_queues_head(setup: Setup) -> None:
    """The pass a freed worker's wake starts, every task offered as it was created: one statement
    finds no queue with a pending task and a free member; no head is locked or read."""
    queue = setup.queue("All")
    setup.worker("alice")
    workflow = setup.workflow({"default_filter": {"queue": queue.sid}})
    _task(setup, workflow.sid)  # offered as it was created
    with CaptureQueriesContext(connection) as captured:
        assert setup.route().reservations == 0
    assert not [q["sql"] for q in captured if "FOR UPDATE" in q["sql"]]
