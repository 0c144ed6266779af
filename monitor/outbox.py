"""Webhook deliveries, the outbox Celery drains: recorded in the caller's transaction, queued on commit."""

from collections.abc import Mapping, Sequence

from django.db import transaction

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
    """Record a callback and hand it to Celery once the caller's transaction commits."""
    delivery = WebhookDelivery.objects.create(
        account=account, url=url, method=method.upper(), params=dict(params), call_sid=call_sid
    )
    transaction.on_commit(lambda: webhook_deliver_task.delay(str(account.id), str(delivery.id)))
    return delivery
