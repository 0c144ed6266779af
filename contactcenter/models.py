"""Twilio's 2010 Queues: a tenant's named call queues and the calls waiting in them."""

from django.db import models
from django.db.models import Q

from core.models import TenantModel

DEFAULT_MAX_SIZE = 1000  # Twilio's default since it raised it from 100
MAX_MAX_SIZE = 5000


class Queue(TenantModel):
    """A named queue (`<Enqueue>` finds it by name, and creates it on first use). Its size and waits
    are derived from its waiting members when asked, as Twilio computes them."""

    SID_PREFIX = "QU"

    friendly_name = models.CharField(max_length=64)
    max_size = models.PositiveIntegerField(default=DEFAULT_MAX_SIZE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "friendly_name"], name="queue_name_per_account")
        ]
        indexes = [models.Index(fields=["account", "-date_created", "-id"], name="queue_account_paging")]


class QueueMember(TenantModel):
    """One call's stay in a queue, from `<Enqueue>` until it left, and why it left.

    Left members are kept, not deleted: the call's own record of its wait (its timeline and the
    portal read it) and what wait statistics are computed from. Only waiting members count as the
    queue's; its position is its place among them by enqueue time (`date_created`), and a member an
    agent claimed but lost before the bridge goes back to waiting at the same place.
    """

    SID_PREFIX = "QM"  # internal: Twilio names a member by its call's SID

    class Status(models.TextChoices):
        WAITING = "waiting"
        BRIDGING = "bridging"  # claimed by a `<Dial><Queue>`, hearing its announcement
        LEFT = "left"

    class Result(models.TextChoices):
        """Twilio's QueueResult, for a member that left."""

        BRIDGED = "bridged"
        LEAVE = "leave"
        HANGUP = "hangup"
        REDIRECTED = "redirected"
        ERROR = "error"
        SYSTEM_ERROR = "system-error"

    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="members")
    call = models.ForeignKey("voice.Call", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WAITING)
    result = models.CharField(max_length=16, choices=Result.choices, blank=True)
    # The call dequeuing it (`<Dial><Queue>`), and the bridge that call holds open for it.
    dequeued_by = models.ForeignKey(
        "voice.Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    bridge_id = models.CharField(max_length=64, blank=True)
    bridged_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["call"], condition=~Q(status="left"), name="queue_member_one_queue_per_call"
            )
        ]
        indexes = [
            models.Index(
                fields=["queue", "date_created", "id"],
                condition=Q(status="waiting"),
                name="queue_member_waiting_order",
            )
        ]
