"""Tasks, reservations, events and statistics through the official SDK, with the routing process
running: the engine reserves, the SDK rejects, accepts, completes and cancels, and the statistics
and the event log then say what happened."""

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from twilio.rest.taskrouter.v1 import V1
from twilio.rest.taskrouter.v1.workspace import WorkspaceContext

from tests.conftest import Tenant
from tests.contactcenter.taskrouter.sdk import refused, taskrouter
from tests.live import taskrouter_process

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def router(server: str) -> Iterator[None]:
    """The routing process, on the same database as the server."""
    with taskrouter_process():
        yield


def until(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)
    return found


def billing_desk(tr: V1) -> tuple[WorkspaceContext, Any, Any]:
    """A workspace with a billing queue its workflow routes every task to, and its Available activity."""
    ws = tr.workspaces(tr.workspaces.create(friendly_name="Billing desk").sid)
    queue = ws.task_queues.create(friendly_name="Billing", target_workers="skills HAS 'billing'")
    workflow = ws.workflows.create(
        friendly_name="Everything to billing",
        configuration=json.dumps({"task_routing": {"default_filter": {"queue": queue.sid}}}),
    )
    return ws, queue, workflow


def test_reserve_reject_reoffer_accept_complete_then_statistics_and_events(router: None, tr: V1) -> None:
    ws, queue, workflow = billing_desk(tr)
    available = ws.activities.list(friendly_name="Available")[0]
    offline = ws.activities.list(friendly_name="Offline")[0]
    ann = ws.workers.create(
        friendly_name="Ann", attributes='{"skills": ["billing"]}', activity_sid=available.sid
    )

    task = ws.tasks.create(workflow_sid=workflow.sid, attributes='{"type": "invoice"}', priority=5)
    assert (task.sid[:2], task.workflow_friendly_name, task.priority) == ("WT", "Everything to billing", 5)
    first = until(lambda: ws.tasks(task.sid).reservations.list())[0]
    assert (first.worker_sid, first.reservation_status, first.worker_name) == (ann.sid, "pending", "Ann")
    assert ws.tasks(task.sid).fetch().assignment_status == "reserved"
    assert [r.sid for r in ws.workers(ann.sid).reservations.list(reservation_status="pending")] == [first.sid]

    # Ann rejects into Offline; Bob, who then comes available, is offered the task.
    rejected = (
        ws.tasks(task.sid)
        .reservations(first.sid)
        .update(reservation_status="rejected", worker_activity_sid=offline.sid)
    )
    assert rejected.reservation_status == "rejected"
    assert ws.workers(ann.sid).fetch().activity_name == "Offline"
    bob = ws.workers.create(
        friendly_name="Bob", attributes='{"skills": ["billing"]}', activity_sid=available.sid
    )
    second = until(lambda: ws.tasks(task.sid).reservations.list(reservation_status="pending"))[0]
    assert second.worker_sid == bob.sid
    accepted = ws.workers(bob.sid).reservations(second.sid).update(reservation_status="accepted")
    assert accepted.reservation_status == "accepted"
    assert ws.tasks(task.sid).fetch().assignment_status == "assigned"
    assert (
        refused(ws.tasks(task.sid).reservations(second.sid).update, reservation_status="accepted")[0] == 400
    )

    done = ws.tasks(task.sid).update(assignment_status="completed", reason="Invoice explained")
    assert (done.assignment_status, done.reason) == ("completed", "Invoice explained")

    # A second task waits with nobody available, and is then canceled; a third keeps waiting.
    ws.workers(bob.sid).update(activity_sid=offline.sid)
    waiting = ws.tasks.create(workflow_sid=workflow.sid, attributes='{"type": "refund"}')
    canceled = ws.tasks(waiting.sid).update(assignment_status="canceled", reason="Caller hung up")
    assert canceled.assignment_status == "canceled"
    last = ws.tasks.create(workflow_sid=workflow.sid, attributes='{"type": "refund"}', priority=9)

    assert [t.sid for t in ws.tasks.list(assignment_status="pending")] == [last.sid]
    assert {t.sid for t in ws.tasks.list(assignment_status=["completed", "canceled"])} == {
        task.sid,
        waiting.sid,
    }
    assert len(ws.tasks.list(task_queue_sid=queue.sid)) == 3
    assert len(ws.tasks.list(workflow_sid=workflow.sid, evaluate_task_attributes="type == 'refund'")) == 2
    by_priority = ws.tasks.list(ordering="Priority:desc,DateCreated:desc")
    assert [t.priority for t in by_priority] == [9, 5, 0]
    assert refused(ws.tasks.list, ordering="Priority:desc,DateCreated:asc") == (400, 20001)

    realtime = ws.task_queues(queue.sid).real_time_statistics().fetch()
    assert realtime.total_tasks == 1 and realtime.tasks_by_status["pending"] == 1
    assert realtime.tasks_by_priority == {"9": 1}
    assert realtime.longest_task_waiting_sid == last.sid and realtime.longest_task_waiting_age >= 0
    assert (realtime.total_eligible_workers, realtime.total_available_workers) == (2, 0)
    assert {a["friendly_name"]: a["workers"] for a in realtime.activity_statistics} == {
        "Offline": 2,
        "Available": 0,
        "Unavailable": 0,
    }

    cumulative = ws.task_queues(queue.sid).cumulative_statistics().fetch(split_by_wait_time="3600")
    assert (cumulative.reservations_created, cumulative.reservations_rejected) == (2, 1)
    assert (cumulative.reservations_accepted, cumulative.tasks_entered) == (1, 3)
    assert (cumulative.tasks_completed, cumulative.tasks_canceled) == (1, 1)
    assert cumulative.wait_duration_until_accepted["max"] >= cumulative.avg_task_acceptance_time >= 0
    assert cumulative.split_by_wait_time["3600"]["below"] == {"reservations_accepted": 1, "tasks_canceled": 1}
    both = ws.task_queues(queue.sid).statistics().fetch()
    assert both.realtime["total_tasks"] == 1 and both.cumulative["reservations_created"] == 2
    [listed] = ws.task_queues.statistics.list()
    assert listed.task_queue_sid == queue.sid and listed.realtime["longest_task_waiting_sid"] == last.sid

    workspace = ws.real_time_statistics().fetch()
    assert (workspace.total_tasks, workspace.total_workers, workspace.longest_task_waiting_sid) == (
        1,
        2,
        last.sid,
    )
    assert ws.cumulative_statistics().fetch().tasks_created == 3
    assert ws.statistics().fetch().realtime["total_workers"] == 2
    assert ws.workers.real_time_statistics().fetch().total_workers == 2
    assert ws.workers.cumulative_statistics().fetch().reservations_created == 2
    assert ws.workers(ann.sid).statistics().fetch().cumulative["reservations_rejected"] == 1
    assert ws.workers(bob.sid).statistics().fetch().cumulative["reservations_accepted"] == 1

    rejections = ws.events.list(event_type="reservation.rejected")
    assert [(e.resource_sid, e.event_data["worker_sid"]) for e in rejections] == [(first.sid, ann.sid)]
    about_task = {e.event_type for e in ws.events.list(task_sid=task.sid)}
    assert {"task.created", "reservation.created", "reservation.accepted", "task.completed"} <= about_task
    event = ws.events(rejections[0].sid).fetch()
    assert event.resource_type == "reservation" and event.event_date is not None


def test_task_bad_input_and_deletion(router: None, tr: V1) -> None:
    ws, _, workflow = billing_desk(tr)
    assert refused(ws.tasks.create, workflow_sid=workflow.sid, attributes="{oops") == (400, 20001)
    assert refused(ws.tasks.create, workflow_sid="WW" + "0" * 32, attributes="{}")[0] in (400, 404)
    assert ws.tasks.list() == []
    task = ws.tasks.create(workflow_sid=workflow.sid, attributes='{"type": "x"}', task_channel="sms")
    assert (task.task_channel_unique_name, task.assignment_status) == ("sms", "pending")
    assert ws.tasks(task.sid).update(attributes='{"type": "y"}', priority=3).priority == 3
    ws.tasks(task.sid).delete()
    assert refused(ws.tasks(task.sid).fetch) == (404, 20404)


def test_task_is_invisible_to_other_tenant(server: str, router: None, tr: V1, hotel: Tenant) -> None:
    ws, _, workflow = billing_desk(tr)
    task = ws.tasks.create(workflow_sid=workflow.sid, attributes="{}")
    theirs = taskrouter(server, hotel)
    own = theirs.workspaces(theirs.workspaces.create(friendly_name="Hotel").sid)
    for reach in (theirs.workspaces(ws._solution["sid"]).tasks(task.sid), own.tasks(task.sid)):
        assert refused(reach.fetch) == (404, 20404)
        assert refused(reach.update, assignment_status="canceled") == (404, 20404)
        assert refused(reach.reservations.list) == (404, 20404)
        assert refused(reach.delete) == (404, 20404)
    assert refused(own.tasks.create, workflow_sid=workflow.sid, attributes="{}")[0] in (400, 404)
    assert ws.tasks(task.sid).fetch().assignment_status == "pending"
