"""The error log and webhook deliveries: enqueue in the caller's transaction, attempt from Celery."""

import json
import uuid
from collections.abc import Mapping, Sequence

from django.db import transaction
from django.utils import timezone

from compliance.services import audit_record
from core import webhooks
from core.tenancy import tenant_scope
from monitor.models import Notification, WebhookDelivery
from tenants.models import Account

# A failed response is kept as a short, printable excerpt with only the headers that help debug a
# webhook: the error log is for a tenant's developer, not a way to read what answered.
RESPONSE_EXCERPT_CHARS = 512
KEPT_RESPONSE_HEADERS = frozenset({"content-type", "content-length", "location"})


def _excerpt(body: str) -> str:
    return "".join(c if c.isprintable() or c in "\n\t" else "\ufffd" for c in body[:RESPONSE_EXCERPT_CHARS])


def _kept_headers(headers: str) -> str:
    lines = (line for line in headers.splitlines() if ":" in line)
    return "\n".join(
        _excerpt(line) for line in lines if line.split(":", 1)[0].strip().lower() in KEPT_RESPONSE_HEADERS
    )


def notification_record(
    *,
    account_id: uuid.UUID,
    error_code: int,
    message: str,
    log: int = Notification.Log.ERROR,
    call_sid: str = "",
    request_method: str = "",
    request_url: str = "",
    request_variables: str = "",
    response: webhooks.WebhookResponse | None = None,
) -> Notification:
    """One debugger entry; the caller's transaction must be scoped to `account_id`."""
    return Notification.objects.create(
        account_id=account_id,
        error_code=error_code,
        message_text=message,
        log=log,
        call_sid=call_sid,
        request_method=request_method,
        request_url=request_url,
        request_variables=request_variables,
        response_body=_excerpt(response.body) if response else "",
        response_headers=_kept_headers(response.headers) if response else "",
    )


def notification_delete(*, notification: Notification, actor: str) -> None:
    with transaction.atomic():
        audit_record(
            account_id=notification.account_id,
            actor=actor,
            action="notification.delete",
            object_sid=notification.sid,
        )
        notification.delete()


def webhook_enqueue(
    *,
    account: Account,
    url: str,
    params: Mapping[str, str | Sequence[str]],
    method: str = "POST",
    call_sid: str = "",
) -> WebhookDelivery:
    """Record a callback and hand it to Celery once the caller's transaction commits."""
    from monitor.tasks import webhook_deliver_task

    delivery = WebhookDelivery.objects.create(
        account=account, url=url, method=method.upper(), params=dict(params), call_sid=call_sid
    )
    transaction.on_commit(lambda: webhook_deliver_task.delay(str(account.id), str(delivery.id)))
    return delivery


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
                error_code=result.error_code or 11200,
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
