"""The assignment callback and the workspace's event callback, against real HTTP servers on loopback:
Twilio's parameters, signed; the fallback URL when the first is down; the event log when both are."""

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from twilio.request_validator import RequestValidator

from contactcenter.taskrouter import assignment
from contactcenter.taskrouter.callbacks import assignment_callback_run
from contactcenter.taskrouter.models import Event, Reservation, Task, Worker
from contactcenter.taskrouter.task_lifecycle import task_create
from monitor.deliveries import webhook_attempt
from monitor.models import Notification, WebhookDelivery
from tests.conftest import Tenant
from tests.contactcenter.taskrouter.factories import Setup
from tests.core.test_webhooks import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    opened: list[Receiver] = []
    yield opened
    for receiver in opened:
        receiver.close()


def _receiver(receivers: list[Receiver], status: int, answer: dict[str, object] | None = None) -> Receiver:
    body = json.dumps(answer).encode() if answer else b""
    receiver = Receiver([status] * 3, answer=body, content_type="application/json")
    receivers.append(receiver)
    return receiver


def _reservation(setup: Setup, primary: str, fallback: str) -> Reservation:
    queue = setup.queue("All")
    setup.worker("alice", {"contact_uri": "sip:alice@example.com"})
    workflow = setup.workflow(
        {"default_filter": {"queue": queue.sid}},
        assignment_callback_url=primary, fallback_assignment_callback_url=fallback,
    )  # fmt: skip
    task = task_create(
        workspace=setup.workspace, workflow_sid=workflow.sid, attributes='{"type": "billing"}',
        priority=3, timeout=None, task_channel=None,
    )  # fmt: skip
    setup.route()
    return Reservation.objects.get(task=task)


def test_assignment_callback_falls_back_and_applies_the_instruction(
    setup: Setup, tenant_a: Tenant, receivers: list[Receiver]
) -> None:
    down = _receiver(receivers, 503)
    fallback = _receiver(receivers, 200, {"instruction": "accept"})
    reservation = _reservation(setup, down.url + "/assign", fallback.url + "/fallback")

    assignment_callback_run(account_id=tenant_a.account.id, reservation_id=reservation.id)

    reservation.refresh_from_db()
    assert reservation.status == "accepted"
    assert Task.objects.get(id=reservation.task_id).status == "assigned"
    assert len(down.requests) == 1 and len(fallback.requests) == 1
    request = fallback.requests[0]
    form = {key: values[0] for key, values in request["form"].items()}
    assert RequestValidator(tenant_a.token).validate(
        fallback.url + "/fallback", form, request["headers"]["X-Twilio-Signature"]
    )
    assert form["AccountSid"] == tenant_a.sid and form["WorkspaceSid"] == setup.workspace.sid
    assert form["TaskSid"] == reservation.task.sid and form["ReservationSid"] == reservation.sid
    assert form["WorkerSid"] == reservation.worker.sid and form["TaskQueueSid"] == reservation.task_queue.sid
    assert json.loads(form["TaskAttributes"]) == {"type": "billing"}
    assert json.loads(form["WorkerAttributes"]) == {"contact_uri": "sip:alice@example.com"}
    assert form["TaskPriority"] == "3" and int(form["TaskAge"]) >= 0 and form["WorkflowSid"]


def test_a_callback_run_again_after_its_instruction_was_applied_sends_nothing(
    setup: Setup, tenant_a: Tenant, receivers: list[Receiver]
) -> None:
    """The task is acked late: a worker lost after applying the answer but before acking it runs the
    callback again, which finds the reservation no longer pending."""
    app = _receiver(receivers, 200, {"instruction": "accept"})
    reservation = _reservation(setup, app.url, "")

    for _ in range(2):
        assignment_callback_run(account_id=tenant_a.account.id, reservation_id=reservation.id)

    assert len(app.requests) == 1
    assert Event.objects.filter(event_type="reservation.accepted").count() == 1
    assert not Notification.objects.exists()


def test_a_reject_instruction_moves_the_worker_and_requeues_the_task(
    setup: Setup, tenant_a: Tenant, receivers: list[Receiver]
) -> None:
    app = _receiver(receivers, 200, {"instruction": "reject", "activity_sid": setup.unavailable.sid})
    reservation = _reservation(setup, app.url, "")

    assignment_callback_run(account_id=tenant_a.account.id, reservation_id=reservation.id)

    reservation.refresh_from_db()
    assert reservation.status == "rejected"
    assert Task.objects.get(id=reservation.task_id).status == "pending"
    assert Worker.objects.get(friendly_name="alice").activity_id == setup.unavailable.id


def test_both_callbacks_down_leaves_the_reservation_pending_and_logs_the_failure(
    setup: Setup, tenant_a: Tenant, receivers: list[Receiver]
) -> None:
    down = _receiver(receivers, 500)
    also_down = _receiver(receivers, 502)
    reservation = _reservation(setup, down.url, also_down.url)

    assignment_callback_run(account_id=tenant_a.account.id, reservation_id=reservation.id)

    reservation.refresh_from_db()
    assert reservation.status == "pending"  # until its timeout, as Twilio's
    failed = Event.objects.get(event_type="reservation.failed")
    assert failed.resource_sid == reservation.sid and down.url in failed.description
    assert Notification.objects.filter(error_code=11200).count() == 2


def test_the_event_callback_is_posted_with_twilios_event_type(
    setup: Setup, tenant_a: Tenant, receivers: list[Receiver]
) -> None:
    events = _receiver(receivers, 200)
    setup.workspace.event_callback_url = events.url + "/events"
    setup.workspace.events_filter = "worker.created,reservation.created"
    setup.workspace.save()

    _reservation(setup, "", "")
    deliveries = list(WebhookDelivery.objects.order_by("date_created"))
    assert [d.params["EventType"] for d in deliveries] == ["worker.created", "reservation.created"]
    for delivery in deliveries:
        assert webhook_attempt(account_id=tenant_a.account.id, delivery_id=delivery.id) is None

    forms = [{key: values[0] for key, values in r["form"].items()} for r in events.requests]
    assert [form["EventType"] for form in forms] == ["worker.created", "reservation.created"]
    created = forms[1]
    assert created["ResourceType"] == "reservation" and created["WorkspaceSid"] == setup.workspace.sid
    assert created["TaskSid"].startswith("WT") and created["WorkerName"] == "alice"
    assert created["Sid"] == Event.objects.get(event_type="reservation.created").sid


def test_a_callback_the_broker_refuses_does_not_cost_the_passs_other_offers_theirs(
    setup: Setup, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    """Redis down for one queued callback (kombu raises): the other reservations of the same routing
    pass still get their callbacks queued, and the refused one stays pending until its timeout."""
    queue = setup.queue("All")
    workers = setup.worker("alice", available=False), setup.worker("bob", available=False)
    workflow = setup.workflow(
        {"default_filter": {"queue": queue.sid}}, assignment_callback_url="http://127.0.0.1:9/assign"
    )
    for _ in range(2):
        task_create(
            workspace=setup.workspace, workflow_sid=workflow.sid, attributes="{}",
            priority=None, timeout=None, task_channel=None,
        )  # fmt: skip
    setup.sign_in(*workers)
    queued: list[str] = []

    def delay(account_id: str, reservation_id: str) -> None:
        if not queued:
            queued.append("refused")
            raise ConnectionError("the broker is down")
        queued.append(reservation_id)

    monkeypatch.setattr(assignment.assignment_callback_task, "delay", delay)
    with django_capture_on_commit_callbacks(execute=True):
        setup.route()
    pending = set(Reservation.objects.filter(status="pending").values_list("id", flat=True))
    assert len(pending) == 2 and len(queued) == 2 and uuid.UUID(queued[1]) in pending
