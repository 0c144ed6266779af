"""The error log (Twilio's Notifications): an entry per failure a tenant's developer should see."""

import uuid

from django.db import transaction

from compliance.services import audit_record
from core import webhooks
from monitor.models import Notification

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
    """Delete an error-log entry, audited."""
    with transaction.atomic():
        audit_record(
            account_id=notification.account_id,
            actor=actor,
            action="notification.delete",
            object_sid=notification.sid,
        )
        notification.delete()
