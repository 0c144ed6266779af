"""Attempting one webhook delivery, which Celery retries with back-off until it is done or given up."""

import json
import uuid
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from core import webhooks
from core.error_codes import ErrorCode
from core.tenancy import tenant_scope
from monitor.models import Notification, WebhookDelivery
from monitor.notifications import notification_record
from tenants.models import Account

BACKOFF_BASE_SECONDS = 2
# How long an attempt holds its delivery: the whole request is bounded by Twilio's 15 s, and what is
# left covers writing its outcome. A worker killed mid-attempt leaves the delivery to the sweep after.
LEASE_SECONDS = 4 * webhooks.TIMEOUT_SECONDS


def webhook_attempt(*, account_id: uuid.UUID, delivery_id: uuid.UUID) -> float | None:
    """Try one delivery; None when nothing more is owed now, else the seconds until the next attempt.

    The attempt claims the row (its `due_at` moves to the end of a lease) before sending, so two
    tasks for one delivery (a retry and the sweep's re-queue, a late ack's redelivery) never send it
    at the same time: the one finding the row not yet due leaves it. The HTTP request runs outside
    any transaction so a slow receiver never holds a connection's transaction (or its locks) open.
    """
    with tenant_scope(account_id):
        delivery = WebhookDelivery.objects.select_for_update().filter(id=delivery_id).first()
        now = timezone.now()
        if delivery is None or delivery.status != WebhookDelivery.Status.PENDING or delivery.due_at > now:
            return None
        delivery.due_at = now + timedelta(seconds=LEASE_SECONDS)
        delivery.save(update_fields=["due_at", "date_updated"])
        auth_token = Account.objects.get(id=account_id).auth_token
    result = webhooks.send(
        url=delivery.url, method=delivery.method, params=delivery.params, auth_token=auth_token
    )
    with tenant_scope(account_id):
        delivery = WebhookDelivery.objects.select_for_update().get(id=delivery_id)
        delivery.attempts += 1
        delivery.last_status_code = result.status_code
        is_last_attempt = delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS
        retry_in: float | None = None
        if result.is_success:
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_at = timezone.now()
        else:
            if is_last_attempt:
                delivery.status = WebhookDelivery.Status.FAILED
            else:
                retry_in = BACKOFF_BASE_SECONDS**delivery.attempts
                delivery.due_at = timezone.now() + timedelta(seconds=retry_in)
            notification_record(
                account_id=account_id,
                error_code=result.error_code or ErrorCode.HTTP_RETRIEVAL_FAILURE,
                message=f"Webhook to {delivery.url} failed ({result.error}); attempt {delivery.attempts}"
                + ("; giving up" if is_last_attempt else "; will retry"),
                log=Notification.Log.ERROR if is_last_attempt else Notification.Log.WARNING,
                call_sid=delivery.call_sid,
                request_method=delivery.method,
                request_url=delivery.url,
                request_variables=json.dumps(delivery.params, sort_keys=True),
                response=result,
            )
        delivery.save()
    return retry_in
