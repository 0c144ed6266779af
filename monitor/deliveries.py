"""Attempting one webhook delivery, which Celery retries with back-off until it is done or given up."""

import json
import uuid

from django.utils import timezone

from core import webhooks
from core.error_codes import ErrorCode
from core.tenancy import tenant_scope
from monitor.models import Notification, WebhookDelivery
from monitor.notifications import notification_record
from tenants.models import Account


def webhook_attempt(*, account_id: uuid.UUID, delivery_id: uuid.UUID, is_last_attempt: bool) -> bool:
    """Try one delivery; True when it is done (delivered now or before), False to retry later.

    The HTTP request runs outside any transaction so a slow receiver never holds a connection's
    transaction (or its locks) open for up to the 15 s timeout.
    """
    with tenant_scope(account_id):
        delivery = WebhookDelivery.objects.filter(id=delivery_id).first()
        if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
            return True
        auth_token = Account.objects.get(id=account_id).auth_token
    result = webhooks.send(
        url=delivery.url, method=delivery.method, params=delivery.params, auth_token=auth_token
    )
    with tenant_scope(account_id):
        delivery = WebhookDelivery.objects.select_for_update().get(id=delivery_id)
        delivery.attempts += 1
        delivery.last_status_code = result.status_code
        if result.is_success:
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_at = timezone.now()
        else:
            if is_last_attempt:
                delivery.status = WebhookDelivery.Status.FAILED
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
    return result.is_success
