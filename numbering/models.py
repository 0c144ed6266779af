"""A tenant's phone numbers (Twilio's IncomingPhoneNumbers) and the global routing table.

`NumberRoute` is the one table without RLS: it maps an E.164 number to the account that owns it,
which is what an inbound call or SMS needs before any tenant is known. A trigger keeps it in step
with `IncomingPhoneNumber`, and its primary key is what makes a number belong to one account only.
The application role may read it, never write it.
"""

from django.db import models

from core.models import TenantModel


class IncomingPhoneNumber(TenantModel):
    SID_PREFIX = "PN"

    class Method(models.TextChoices):
        GET = "GET", "GET"
        POST = "POST", "POST"

    phone_number = models.CharField(max_length=16)
    friendly_name = models.CharField(max_length=64)
    voice_url = models.URLField(max_length=1024, blank=True)
    voice_method = models.CharField(max_length=4, choices=Method.choices, default=Method.POST)
    voice_fallback_url = models.URLField(max_length=1024, blank=True)
    voice_fallback_method = models.CharField(max_length=4, choices=Method.choices, default=Method.POST)
    voice_caller_id_lookup = models.BooleanField(default=False)
    status_callback = models.URLField(max_length=1024, blank=True)
    status_callback_method = models.CharField(max_length=4, choices=Method.choices, default=Method.POST)
    sms_url = models.URLField(max_length=1024, blank=True)
    sms_method = models.CharField(max_length=4, choices=Method.choices, default=Method.POST)
    sms_fallback_url = models.URLField(max_length=1024, blank=True)
    sms_fallback_method = models.CharField(max_length=4, choices=Method.choices, default=Method.POST)
    # The carrier connection its texts leave through; none means the default connector. A connector
    # that numbers still name cannot be deleted (the foreign key refuses).
    sms_connector = models.ForeignKey(
        "messaging.Connector", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["account", "-date_created", "-id"], name="number_account_paging")]


class NumberRoute(models.Model):
    phone_number = models.CharField(max_length=16, primary_key=True)
    account_id = models.UUIDField()
    number_id = models.UUIDField(unique=True)

    def __str__(self) -> str:
        return self.phone_number
