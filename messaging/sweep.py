"""The sweep: the work nobody is doing, found across tenants and done per tenant."""

import uuid
from collections import defaultdict
from datetime import timedelta

from django.utils import timezone

from messaging.handover import message_release_due, message_send
from messaging.inbound import message_webhook_requeue
from messaging.models import Message, PendingMessage

S = Message.Status


def messages_sweep(*, stale_seconds: float, limit: int = 1000) -> dict[str, int]:
    """Find the work nobody is doing, across tenants, and do it per tenant: hand over queued messages
    not handed over for `stale_seconds`, release scheduled ones now due, re-queue owed webhooks.

    Run periodically by the carrier gateway (Celery beat is not needed, and a SendAt is never an ETA:
    Redis would redeliver anything held past its one-hour visibility timeout).
    """
    now = timezone.now()
    stale = now - timedelta(seconds=stale_seconds)
    rows = (
        PendingMessage.objects.filter(status=S.SCHEDULED, since__lte=now)
        | PendingMessage.objects.filter(status__in=[S.QUEUED, S.RECEIVED], since__lte=stale)
    ).order_by("since")[:limit]
    work: dict[tuple[str, uuid.UUID], list[uuid.UUID]] = defaultdict(list)
    for row in rows:
        work[(row.status, row.account_id)].append(row.message_id)
    counts: dict[str, int] = defaultdict(int)
    for (status, account_id), ids in work.items():
        if status == S.SCHEDULED:
            message_release_due(account_id=account_id, message_ids=ids)
        elif status == S.QUEUED:
            message_send(account_id=account_id, message_ids=ids)
        else:
            message_webhook_requeue(account_id=account_id, message_ids=ids)
        counts[status] += len(ids)
    return dict(counts)
