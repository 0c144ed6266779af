"""TaskRouter's tables: a workspace's activities, channels, workers, queues, workflows, tasks,
reservations and event log, plus the one global table the routing process finds its work in.

Attributes are kept twice: the JSON text the client sent (Twilio echoes that string back) and its
parsed form, which the engine evaluates expressions against.
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Now

from core.models import TenantModel

DEFAULT_TASK_TIMEOUT_SECONDS = 86400  # Twilio's default time to live for a task: a day
DEFAULT_RESERVATION_TIMEOUT_SECONDS = 120
DEFAULT_SERVICE_LEVEL_SECONDS = 20  # the wallboard's "answered within N seconds", the industry's 80/20


def default_disposition_codes() -> list[str]:
    """What most contact centers start with; a workspace edits its own list."""
    return ["Resolved", "Follow-up needed", "Callback requested", "Escalated", "Wrong number", "Spam"]


class Workspace(TenantModel):
    SID_PREFIX = "WS"

    class QueueOrder(models.TextChoices):
        FIFO = "FIFO"
        LIFO = "LIFO"

    class AgentLostAction(models.TextChoices):
        """What the caller gets when the agent's leg is lost mid-call (contactcenter/agent_call.py)."""

        REQUEUE = "requeue"  # back in line, a new task keeping the old one's age and priority
        REDIAL = "redial"  # the same worker's contact rung again
        HANGUP = "hangup"  # a notice, then the call ends

    friendly_name = models.CharField(max_length=64)
    event_callback_url = models.TextField(blank=True)
    # Comma-separated event types to POST; empty means every event.
    events_filter = models.TextField(blank=True)
    multi_task_enabled = models.BooleanField(default=True)
    default_activity = models.ForeignKey(
        "Activity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    timeout_activity = models.ForeignKey(
        "Activity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    prioritize_queue_order = models.CharField(
        max_length=4, choices=QueueOrder.choices, default=QueueOrder.FIFO
    )
    agent_lost_action = models.CharField(
        max_length=7, choices=AgentLostAction.choices, default=AgentLostAction.REQUEUE
    )
    # The codes an agent picks from when wrapping up a task in the console (contactcenter/console.py).
    disposition_codes = models.JSONField(default=default_disposition_codes)

    class Meta:
        indexes = [models.Index(fields=["account", "-date_created", "-id"], name="tr_workspace_paging")]


class WorkspaceOwned(TenantModel):
    """A row inside one workspace."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True


class Activity(WorkspaceOwned):
    SID_PREFIX = "WA"

    friendly_name = models.CharField(max_length=64)
    available = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "friendly_name"], name="tr_activity_unique_name")
        ]

    def __str__(self) -> str:  # the new-worker form's choices
        return self.friendly_name


class TaskChannel(WorkspaceOwned):
    SID_PREFIX = "TC"

    unique_name = models.CharField(max_length=64)
    friendly_name = models.CharField(max_length=64)
    channel_optimized_routing = models.BooleanField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "unique_name"], name="tr_taskchannel_unique_name")
        ]


class Worker(WorkspaceOwned):
    SID_PREFIX = "WK"

    friendly_name = models.CharField(max_length=64)
    attributes = models.TextField(default="{}")
    attributes_json = models.JSONField(default=dict)
    activity = models.ForeignKey(Activity, on_delete=models.PROTECT, related_name="+")
    # Copied from the activity (whose `available` never changes), so the claim filters one table.
    available = models.BooleanField(default=False)
    date_status_changed = models.DateTimeField(db_default=Now())
    # The portal member who works as this worker in the agent console (one worker per member in a
    # workspace); None for workers driven only through the API.
    member = models.ForeignKey(
        "tenants.Membership", null=True, blank=True, on_delete=models.SET_NULL, related_name="workers"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "friendly_name"], name="tr_worker_unique_name"),
            models.UniqueConstraint(fields=["workspace", "member"], name="tr_worker_unique_member"),
        ]


class WorkerChannel(WorkspaceOwned):
    """A worker's capacity on one task channel; `assigned_tasks` counts its live reservations
    (pending, accepted, wrapping) and changes only under the worker's row lock."""

    SID_PREFIX = "WC"

    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="channels")
    task_channel = models.ForeignKey(TaskChannel, on_delete=models.CASCADE, related_name="+")
    capacity = models.PositiveIntegerField(default=1)
    available = models.BooleanField(default=True)
    assigned_tasks = models.PositiveIntegerField(default=0)
    # Longest idle first: since its last reservation or its worker last became available, whichever
    # is later. One key, so the decision walks `tr_wc_free` in order and stops at its LIMIT.
    idle_since = models.DateTimeField(db_default=Now())

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["worker", "task_channel"], name="tr_workerchannel_unique")
        ]
        indexes = [
            models.Index(
                fields=["task_channel", "idle_since"],
                name="tr_wc_free",
                condition=models.Q(available=True, assigned_tasks__lt=models.F("capacity")),
            )
        ]


class TaskQueue(WorkspaceOwned):
    SID_PREFIX = "WQ"

    class Order(models.TextChoices):
        FIFO = "FIFO"
        LIFO = "LIFO"

    friendly_name = models.CharField(max_length=64)
    target_workers = models.TextField(default="1==1")
    max_reserved_workers = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(50)]
    )
    task_order = models.CharField(max_length=4, choices=Order.choices, default=Order.FIFO)
    reservation_activity = models.ForeignKey(
        Activity, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignment_activity = models.ForeignKey(
        Activity, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The wallboard's service level: the share of the queue's tasks accepted within this many seconds
    # of waiting (Twilio's TaskQueue has no such field; Flex keeps it in its own configuration).
    service_level_seconds = models.PositiveIntegerField(
        default=DEFAULT_SERVICE_LEVEL_SECONDS, validators=[MinValueValidator(1), MaxValueValidator(3600)]
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "friendly_name"], name="tr_taskqueue_unique_name"),
            models.CheckConstraint(
                condition=models.Q(max_reserved_workers__gte=1, max_reserved_workers__lte=50),
                name="tr_taskqueue_max_reserved_range",
            ),
        ]


class TaskQueueWorker(models.Model):
    """Which workers a queue's `target_workers` matches, kept current on every change to either
    side, so a decision never evaluates that expression over all workers."""

    account = models.ForeignKey("tenants.Account", on_delete=models.CASCADE, related_name="+")
    task_queue = models.ForeignKey(TaskQueue, on_delete=models.CASCADE, related_name="+")
    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task_queue", "worker"], name="tr_taskqueueworker_unique")
        ]
        indexes = [models.Index(fields=["worker"], name="tr_tqw_worker")]

    def __str__(self) -> str:
        return f"{self.task_queue_id} ∋ {self.worker_id}"


class Workflow(WorkspaceOwned):
    SID_PREFIX = "WW"

    friendly_name = models.CharField(max_length=64)
    configuration = models.TextField()
    assignment_callback_url = models.TextField(blank=True)
    fallback_assignment_callback_url = models.TextField(blank=True)
    task_reservation_timeout = models.PositiveIntegerField(
        default=DEFAULT_RESERVATION_TIMEOUT_SECONDS,
        validators=[MinValueValidator(1), MaxValueValidator(86400)],
    )


class Task(WorkspaceOwned):
    SID_PREFIX = "WT"

    class Status(models.TextChoices):
        PENDING = "pending"
        RESERVED = "reserved"
        ASSIGNED = "assigned"
        WRAPPING = "wrapping"
        COMPLETED = "completed"
        CANCELED = "canceled"

    OPEN = frozenset({Status.PENDING, Status.RESERVED})  # still routed: timers apply
    LIVE = frozenset({Status.PENDING, Status.RESERVED, Status.ASSIGNED, Status.WRAPPING})

    workflow = models.ForeignKey(Workflow, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    task_channel = models.ForeignKey(TaskChannel, on_delete=models.PROTECT, related_name="+")
    task_queue = models.ForeignKey(
        TaskQueue, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    attributes = models.TextField(default="{}")
    attributes_json = models.JSONField(default=dict)
    priority = models.IntegerField(default=0)
    timeout = models.PositiveIntegerField(default=DEFAULT_TASK_TIMEOUT_SECONDS)
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.PENDING)
    reason = models.TextField(blank=True)
    # Age is counted from here (TaskAge, queue order); it survives escalation and a callback.
    age_anchor_at = models.DateTimeField(db_default=Now())
    queue_entered_at = models.DateTimeField(null=True, blank=True)
    # The workflow's filter routing the task (its index; None for the default filter, or before
    # routing), its name, and the index of the target the task is on now.
    filter_index = models.PositiveSmallIntegerField(null=True, blank=True)
    routing_filter = models.CharField(max_length=255, blank=True)
    target_index = models.PositiveSmallIntegerField(default=0)
    escalates_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [
            # The claim: a queue's pending tasks, highest priority then oldest (or newest), no sort.
            models.Index(
                "task_queue",
                models.F("priority").desc(),
                "age_anchor_at",
                name="tr_task_claim_fifo",
                condition=models.Q(status="pending"),
            ),  # fmt: skip
            models.Index(
                "task_queue",
                models.F("priority").desc(),
                models.F("age_anchor_at").desc(),
                name="tr_task_claim_lifo",
                condition=models.Q(status="pending"),
            ),  # fmt: skip
            models.Index(
                fields=["workspace", "escalates_at"],
                name="tr_task_escalation",
                condition=models.Q(status="pending", escalates_at__isnull=False),
            ),  # fmt: skip
            models.Index(
                fields=["workspace", "expires_at"],
                name="tr_task_expiry",
                condition=models.Q(status__in=["pending", "reserved"]),
            ),  # fmt: skip
            models.Index(fields=["workspace", "status"], name="tr_task_status"),
            models.Index(fields=["workspace", "-date_created", "-id"], name="tr_task_paging"),
        ]


class Reservation(WorkspaceOwned):
    SID_PREFIX = "WR"

    class Status(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted"
        REJECTED = "rejected"
        TIMEOUT = "timeout"
        CANCELED = "canceled"
        RESCINDED = "rescinded"
        WRAPPING = "wrapping"
        COMPLETED = "completed"

    # Reservations that hold a unit of the worker channel's capacity.
    HOLDING = frozenset({Status.PENDING, Status.ACCEPTED, Status.WRAPPING})

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="reservations")
    # Kept when the worker is deleted, so the reservation's history stays readable.
    worker = models.ForeignKey(Worker, null=True, on_delete=models.SET_NULL, related_name="+")
    worker_name = models.CharField(max_length=64)
    worker_channel = models.ForeignKey(WorkerChannel, null=True, on_delete=models.SET_NULL, related_name="+")
    task_queue = models.ForeignKey(TaskQueue, null=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.PENDING)
    timeout_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["task", "worker"], name="tr_reservation_task_worker"),
            models.Index(fields=["worker", "status"], name="tr_reservation_worker"),
            models.Index(
                fields=["workspace", "timeout_at"],
                name="tr_reservation_timeout",
                condition=models.Q(status="pending"),
            ),  # fmt: skip
        ]


class Event(WorkspaceOwned):
    """The workspace's event log (the Events resource); `date_created` is Twilio's EventDate."""

    SID_PREFIX = "EV"

    event_type = models.CharField(max_length=64)
    resource_type = models.CharField(max_length=32)
    resource_sid = models.CharField(max_length=34)
    description = models.TextField()
    data = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["workspace", "-date_created", "-id"], name="tr_event_paging")]


class RoutingDue(models.Model):
    """When each workspace next needs the routing process: ids and a time only, no tenant data.

    Like numbering's route table it has no RLS, since the routing process reads it before it knows a
    tenant; the application role may only read it, and writes go through the SECURITY DEFINER
    functions `taskrouter_wake` and `taskrouter_reschedule` (see the migrations). `version` grows on
    every wake that moves the row earlier, so a pass that read an older one cannot push that wake-up
    into the future; a wake that finds the row due already writes nothing (its NOTIFY starts the pass).
    """

    workspace_id = models.UUIDField(primary_key=True)
    account_id = models.UUIDField()
    due_at = models.DateTimeField(null=True)
    version = models.BigIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(
                fields=["due_at"], name="tr_routingdue_due", condition=models.Q(due_at__isnull=False)
            )
        ]

    def __str__(self) -> str:
        return f"{self.workspace_id} due {self.due_at}"


class NumberRouting(TenantModel):
    """Where inbound texts to one of the account's numbers enter routing: a workflow, and the task
    channel their tasks take (`sms` unless chosen). Calls enter through their TwiML instead
    (`<Enqueue workflowSid>`). One row per number; deleting it stops routing that number's texts."""

    SID_PREFIX = "NR"  # internal: Twilio has no such resource

    phone_number = models.OneToOneField(
        "numbering.IncomingPhoneNumber", on_delete=models.CASCADE, related_name="+"
    )
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="+")
    task_channel = models.ForeignKey(TaskChannel, on_delete=models.PROTECT, related_name="+")
