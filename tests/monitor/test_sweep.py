"""The outbox sweep's selection: deliveries no task holds, past the grace period, queued again once;
and an attempt's claim, which keeps two tasks from sending one delivery at the same time."""

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from core.tenancy import tenant_scope
from monitor.deliveries import LEASE_SECONDS, webhook_attempt
from monitor.models import PendingWebhook, WebhookDelivery
from monitor.outbox import webhook_enqueue
from monitor.sweep import webhooks_sweep
from tests.conftest import Tenant, make_tenant
from tests.core.test_webhooks import Receiver

GRACE = 30.0


def _delivery(
    tenant: Tenant, url: str = "http://127.0.0.1:9/status", *, due_ago: float = 0.0
) -> WebhookDelivery:
    with tenant_scope(tenant.account.id):
        delivery = webhook_enqueue(account=tenant.account, url=url, params={"CallStatus": "completed"})
        if due_ago:
            WebhookDelivery.objects.filter(id=delivery.id).update(
                due_at=timezone.now() - timedelta(seconds=due_ago)
            )
    return delivery


def _sweep(capture: Any) -> tuple[int, int]:
    """Run a sweep; what it counted and how many tasks it queued on commit."""
    with capture(execute=False) as queued:
        count = webhooks_sweep(stale_seconds=GRACE)
    return count, len(queued)


@pytest.fixture
def earlier_claimed(db: None, django_capture_on_commit_callbacks: Any) -> None:
    """The sweep covers every tenant: deliveries that tests before this one committed (to apps long
    gone) are claimed first, so for the grace period the sweeps below see only this test's."""
    _sweep(django_capture_on_commit_callbacks)


def test_a_delivery_within_the_grace_period_is_left_to_its_task(
    earlier_claimed: None, tenant_a: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    _delivery(tenant_a, due_ago=GRACE - 5)
    assert _sweep(django_capture_on_commit_callbacks) == (0, 0)


def test_an_overdue_delivery_is_queued_again_once_across_tenants(
    earlier_claimed: None, tenant_a: Tenant, tenant_b: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    deliveries = [_delivery(tenant_a, due_ago=GRACE + 5), _delivery(tenant_b, due_ago=GRACE + 500)]
    assert _sweep(django_capture_on_commit_callbacks) == (2, 2)
    # Claimed: a second sweep within the grace period queues nothing more.
    assert _sweep(django_capture_on_commit_callbacks) == (0, 0)
    for tenant, delivery in zip([tenant_a, tenant_b], deliveries, strict=True):
        with tenant_scope(tenant.account.id):
            assert timezone.now() - WebhookDelivery.objects.get(id=delivery.id).due_at < timedelta(seconds=5)


def test_finished_deliveries_leave_the_sweep(
    earlier_claimed: None, tenant_a: Tenant, django_capture_on_commit_callbacks: Any
) -> None:
    done = _delivery(tenant_a, due_ago=GRACE + 5)
    given_up = _delivery(tenant_a, due_ago=GRACE + 5)
    pending = PendingWebhook.objects.filter(delivery_id__in=[done.id, given_up.id])
    assert pending.count() == 2
    with tenant_scope(tenant_a.account.id):
        WebhookDelivery.objects.filter(id=done.id).update(status=WebhookDelivery.Status.DELIVERED)
        WebhookDelivery.objects.filter(id=given_up.id).update(status=WebhookDelivery.Status.FAILED)
    assert not pending.exists()
    assert _sweep(django_capture_on_commit_callbacks) == (0, 0)


def test_the_application_role_only_reads_the_pending_table(tenant_a: Tenant) -> None:
    delivery = _delivery(tenant_a)
    with pytest.raises(DatabaseError), transaction.atomic():
        PendingWebhook.objects.filter(delivery_id=delivery.id).update(due_at=timezone.now())


def test_a_failed_attempt_is_due_again_after_its_back_off(tenant_a: Tenant) -> None:
    delivery = _delivery(tenant_a)
    assert webhook_attempt(account_id=tenant_a.account.id, delivery_id=delivery.id) == 2
    with tenant_scope(tenant_a.account.id):
        row = WebhookDelivery.objects.get(id=delivery.id)
    assert row.attempts == 1 and row.status == WebhookDelivery.Status.PENDING
    assert timedelta(seconds=1) < row.due_at - timezone.now() <= timedelta(seconds=2)
    # Its retry is not due yet, so a second task (the sweep's, say) leaves it.
    assert webhook_attempt(account_id=tenant_a.account.id, delivery_id=delivery.id) is None
    with tenant_scope(tenant_a.account.id):
        assert WebhookDelivery.objects.get(id=delivery.id).attempts == 1


def test_two_tasks_for_one_delivery_send_it_once(django_db_setup: None, django_db_blocker: Any) -> None:
    """Committed for real (no test transaction), so the two attempts run on two connections."""
    receiver = Receiver([200], delay=1.0)
    try:
        with django_db_blocker.unblock():
            tenant = make_tenant("Outbox clinic")
            delivery = _delivery(tenant, receiver.url + "/status")
            outcomes: list[float | None] = []

            def attempt() -> None:
                outcomes.append(webhook_attempt(account_id=tenant.account.id, delivery_id=delivery.id))

            first = threading.Thread(target=attempt)
            first.start()
            deadline = time.monotonic() + 5
            while not receiver.requests and time.monotonic() < deadline:  # the first is sending
                time.sleep(0.02)
            with tenant_scope(tenant.account.id):
                leased = WebhookDelivery.objects.get(id=delivery.id).due_at - timezone.now()
            assert leased > timedelta(seconds=LEASE_SECONDS - 5)
            attempt()  # a second task while the first holds the delivery
            first.join()
            assert outcomes == [None, None] and len(receiver.requests) == 1
            with tenant_scope(tenant.account.id):
                row = WebhookDelivery.objects.get(id=delivery.id)
            assert (row.status, row.attempts) == (WebhookDelivery.Status.DELIVERED, 1)
    finally:
        receiver.close()
