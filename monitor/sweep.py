"""The outbox sweep: webhook deliveries no task is attempting, found across tenants, queued per tenant."""

import uuid
from collections import defaultdict
from datetime import timedelta

from django.utils import timezone

from monitor.models import PendingWebhook
from monitor.outbox import webhook_requeue


def webhooks_sweep(*, stale_seconds: float, limit: int = 1000) -> int:
    """Queue again the deliveries owed an attempt for over `stale_seconds`; the number queued.

    A delivery's `due_at` is when a task should attempt it (after its commit, its retry's back-off
    or an attempt's lease), so one overdue by the grace period has no task holding it. Run
    periodically by the carrier gateway's sweeper, like `messages_sweep`: any number may run, since
    each re-queue is claimed under the delivery's lock and a task sends only a delivery that is due.
    """
    due_before = timezone.now() - timedelta(seconds=stale_seconds)
    rows = PendingWebhook.objects.filter(due_at__lt=due_before).order_by("due_at")[:limit]
    work: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for delivery_id, account_id in rows.values_list("delivery_id", "account_id"):
        work[account_id].append(delivery_id)
    return sum(
        webhook_requeue(account_id=account_id, delivery_ids=ids, due_before=due_before)
        for account_id, ids in work.items()
    )
