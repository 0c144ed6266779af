"""Outbound webhook deliveries and the error log (Twilio's debugger, served as Notifications).

`PendingWebhook` is the outbox's table without RLS: ids and times only, kept in step with the
deliveries by a SECURITY DEFINER trigger and read-only to the application role, so the sweep, which
serves every tenant, finds the deliveries nobody is attempting (see `monitor/sweep.py`).
"""

from django.db import models
from django.utils import timezone

from core.models import TenantModel


class Notification(TenantModel):
    """One runtime error or warning, like a failed webhook (11200) or a bad TwiML document (12100)."""

    SID_PREFIX = "NO"

    class Log(models.IntegerChoices):
        ERROR = 0
        WARNING = 1

    call_sid = models.CharField(max_length=34, blank=True, db_index=True)
    log = models.IntegerField(choices=Log.choices, default=Log.ERROR)
    error_code = models.IntegerField()
    message_text = models.TextField()
    request_method = models.CharField(max_length=8, blank=True)
    request_url = models.TextField(blank=True)
    request_variables = models.TextField(blank=True)
    response_body = models.TextField(blank=True)
    response_headers = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "-date_created", "-id"])]


class WebhookDelivery(TenantModel):
    """A callback to a tenant's URL, delivered by Celery with retries; the row is the outbox."""

    SID_PREFIX = "WH"

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    url = models.TextField()
    method = models.CharField(max_length=8, default="POST")
    params = models.JSONField(default=dict)
    call_sid = models.CharField(max_length=34, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.IntegerField(null=True)
    delivered_at = models.DateTimeField(null=True)
    # When the next attempt is owed: on creation, now; while an attempt is sending, the end of its
    # lease; after a failure, the retry's time. A task attempts only a pending row whose time has come.
    due_at = models.DateTimeField(default=timezone.now)


class PendingWebhook(models.Model):
    """A delivery still pending, and when its next attempt is owed (see the module docstring)."""

    delivery_id = models.UUIDField(primary_key=True)
    account_id = models.UUIDField()
    due_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.delivery_id} due {self.due_at}"
