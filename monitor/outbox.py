"""Webhook deliveries, the outbox Celery drains: recorded in the caller's transaction, queued on commit,
and queued again by the sweep when no task is attempting them."""

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from django.utils import timezone

from core.commit_hooks import on_commit_robust
from core.tenancy import tenant_scope
from monitor.models import WebhookDelivery
from monitor.tasks import webhook_deliver_task
from tenants.models import Account


def webhook_enqueue(
    *,
    account: Account,
    url: str,
    params: Mapping[str, str | Sequence[str]],
    method: str = "POST",
    call_sid: str = "",
) -> WebhookDelivery:
    """Record a callback and hand it to Celery once the caller's transaction commits.

    Queueing is robust: with the broker away the caller's commit stands and nothing is raised into
    it (the failure is logged); the delivery stays pending and the sweep queues it again.
    """
    delivery = WebhookDelivery.objects.create(
        account=account, url=url, method=method.upper(), params=dict(params), call_sid=call_sid
    )
    on_commit_robust(webhook_deliver_task.delay, str(account.id), str(delivery.id))
    return delivery


def webhook_requeue(*, account_id: uuid.UUID, delivery_ids: Sequence[uuid.UUID], due_before: datetime) -> int:
    """Queue again the deliveries among `delivery_ids` still pending and owed an attempt since before
    `due_before`: their task was lost (with Redis or a worker) or never queued. The number queued.

    Each is claimed under its row lock (SKIP LOCKED: one an attempt holds is left to it) by moving
    its `due_at` to now, so a second sweep within the grace period leaves it alone.
    """
    with tenant_scope(account_id):
        rows = WebhookDelivery.objects.select_for_update(skip_locked=True).filter(
            id__in=list(delivery_ids), status=WebhookDelivery.Status.PENDING, due_at__lt=due_before
        )
        ids = list(rows.values_list("id", flat=True))
        WebhookDelivery.objects.filter(id__in=ids).update(due_at=timezone.now())
        for delivery_id in ids:
            on_commit_robust(webhook_deliver_task.delay, str(account_id), str(delivery_id))
    return len(ids)
