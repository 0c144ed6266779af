"""The issue's TaskRouter scenario, driven only through the official SDK with the routing process
running: workflow filters and target expressions choose the worker, a task escalates to the next
target when its timeout passes, an unanswered reservation times out (its worker moved to the timeout
activity) and the task is offered to someone else, a rejected task is offered to the next worker,
and each worker channel takes as many tasks as its capacity."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from twilio.rest.taskrouter.v1 import V1
from twilio.rest.taskrouter.v1.workspace import WorkspaceContext

from tests.contactcenter.taskrouter.test_api_tasks import until
from tests.live import taskrouter_process

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def router(server: str) -> Iterator[None]:
    with taskrouter_process():
        yield


def hotel(tr: V1, **workspace: Any) -> tuple[WorkspaceContext, dict[str, str]]:
    """A workspace and its activities' SIDs by name."""
    ws = tr.workspaces(tr.workspaces.create(friendly_name="Hotel reservations", **workspace).sid)
    return ws, {a.friendly_name: a.sid for a in ws.activities.list()}


def pending_offers(ws: WorkspaceContext, task_sid: str) -> list[Any]:
    return ws.tasks(task_sid).reservations.list(reservation_status="pending")


def test_filters_and_target_expressions_choose_the_worker(router: None, tr: V1) -> None:
    ws, activity = hotel(tr)
    spanish = ws.task_queues.create(friendly_name="Spanish", target_workers="languages HAS 'es'")
    everyone = ws.task_queues.create(friendly_name="Everyone", target_workers="1==1")
    routing = {
        "filters": [
            {
                "filter_friendly_name": "Spanish callers",
                "expression": "language == 'es'",
                "targets": [{"queue": spanish.sid, "expression": "worker.level >= task.min_level"}],
            }
        ],
        "default_filter": {"queue": everyone.sid},
    }
    workflow = ws.workflows.create(
        friendly_name="Languages", configuration=json.dumps({"task_routing": routing})
    )
    ana = ws.workers.create(
        friendly_name="Ana",
        attributes='{"languages": ["es"], "level": 1}',
        activity_sid=activity["Available"],
    )
    pia = ws.workers.create(
        friendly_name="Pia",
        attributes='{"languages": ["es", "en"], "level": 3}',
        activity_sid=activity["Offline"],
    )

    senior = ws.tasks.create(workflow_sid=workflow.sid, attributes='{"language": "es", "min_level": 2}')
    assert senior.task_queue_friendly_name == "Spanish"
    junior = ws.tasks.create(workflow_sid=workflow.sid, attributes='{"language": "es", "min_level": 1}')
    # Ana is the only one available, and her level admits only the junior task.
    assert until(lambda: pending_offers(ws, junior.sid))[0].worker_sid == ana.sid
    assert pending_offers(ws, senior.sid) == []
    ws.workers(pia.sid).update(activity_sid=activity["Available"])
    assert until(lambda: pending_offers(ws, senior.sid))[0].worker_sid == pia.sid

    english = ws.tasks.create(workflow_sid=workflow.sid, attributes='{"language": "en"}')
    assert english.task_queue_friendly_name == "Everyone"
    accepted = (
        ws.tasks(junior.sid).reservations(pending_offers(ws, junior.sid)[0].sid).update(instruction="accept")
    )
    assert accepted.reservation_status == "accepted"


def test_escalation_reservation_timeout_and_reject_offer_the_task_onward(router: None, tr: V1) -> None:
    ws, activity = hotel(tr)
    vip = ws.task_queues.create(friendly_name="VIP", target_workers="level >= 3")
    everyone = ws.task_queues.create(friendly_name="Everyone", target_workers="1==1")
    routing = {
        "filters": [
            {
                "filter_friendly_name": "VIP guests",
                "expression": "vip == true",
                "targets": [{"queue": vip.sid, "timeout": 2}, {"queue": everyone.sid}],
            }
        ],
        "default_filter": {"queue": everyone.sid},
    }
    workflow = ws.workflows.create(
        friendly_name="VIP first",
        configuration=json.dumps({"task_routing": routing}),
        task_reservation_timeout=2,
    )
    ws.workers.create(friendly_name="Vic", attributes='{"level": 3}', activity_sid=activity["Offline"])
    eve = ws.workers.create(
        friendly_name="Eve", attributes='{"level": 1}', activity_sid=activity["Available"]
    )

    # Nobody in VIP is available: after the target's 2 s the task moves on to Everyone, and Eve.
    task = ws.tasks.create(workflow_sid=workflow.sid, attributes='{"vip": true}')
    assert task.task_queue_friendly_name == "VIP"
    offer = until(lambda: pending_offers(ws, task.sid), timeout=15)[0]
    assert offer.worker_sid == eve.sid
    assert ws.tasks(task.sid).fetch().task_queue_friendly_name == "Everyone"

    # Eve does not answer: after the workflow's 2 s her reservation times out and she goes to the
    # timeout activity; Max, available now, is offered the task instead.
    max_ = ws.workers.create(
        friendly_name="Max", attributes='{"level": 1}', activity_sid=activity["Available"]
    )
    second = until(lambda: [r for r in pending_offers(ws, task.sid) if r.worker_sid == max_.sid], timeout=15)[
        0
    ]
    assert ws.tasks(task.sid).reservations(offer.sid).fetch().reservation_status == "timeout"
    assert ws.workers(eve.sid).fetch().activity_name == "Offline"

    # Max rejects; Eve, back and available, is offered it again (Max is not).
    ws.workers(max_.sid).reservations(second.sid).update(instruction="reject")
    ws.workers(eve.sid).update(activity_sid=activity["Available"])
    workers_offered = {r.worker_sid for r in ws.tasks(task.sid).reservations.list()}
    assert workers_offered == {eve.sid, max_.sid}
    timeouts = ws.events.list(event_type="reservation.timeout", task_sid=task.sid)
    assert [e.resource_sid for e in timeouts] == [offer.sid]
    entered = ws.events.list(event_type="task-queue.entered", task_sid=task.sid)
    assert [e.event_data["task_queue_name"] for e in entered] == ["Everyone", "VIP"]


def test_each_worker_channel_takes_as_many_tasks_as_its_capacity(router: None, tr: V1) -> None:
    ws, activity = hotel(tr)
    everyone = ws.task_queues.create(friendly_name="Everyone")
    workflow = ws.workflows.create(
        friendly_name="All",
        configuration=json.dumps({"task_routing": {"default_filter": {"queue": everyone.sid}}}),
    )
    eve = ws.workers.create(friendly_name="Eve", activity_sid=activity["Available"])
    ws.workers(eve.sid).worker_channels("voice").update(capacity=2)

    calls = [
        ws.tasks.create(workflow_sid=workflow.sid, attributes="{}", task_channel="voice") for _ in range(3)
    ]
    texts = [
        ws.tasks.create(workflow_sid=workflow.sid, attributes="{}", task_channel="sms") for _ in range(2)
    ]
    until(lambda: len(ws.workers(eve.sid).reservations.list(reservation_status="pending")) == 3)
    offered = {r.task_sid for r in ws.workers(eve.sid).reservations.list(reservation_status="pending")}
    assert len(offered & {t.sid for t in calls}) == 2 and len(offered & {t.sid for t in texts}) == 1
    voice = ws.workers(eve.sid).worker_channels("voice").fetch()
    assert (voice.assigned_tasks, voice.configured_capacity, voice.available_capacity_percentage) == (2, 2, 0)
    assert len(ws.tasks.list(assignment_status="pending")) == 2
