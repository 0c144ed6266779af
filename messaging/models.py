"""Messages and their media, the carrier connectors that carry them, consent, and the two global tables
the gateway needs before it knows a tenant.

`PendingMessage` and `CarrierRoute` are, like `numbering.NumberRoute`, the tables without RLS: they
hold ids and times only (no number, no body), SECURITY DEFINER triggers on the messages table keep
them in step, and the application role may only read them. They are how a process that serves every
tenant finds work (a queued message nobody handed over, a scheduled one now due, an inbound webhook
nobody ran) and routes a delivery receipt, which names only the carrier's id, to its tenant.
"""

from django.contrib.postgres.fields import ArrayField
from django.db import models

from core import crypto
from core.encrypted import EncryptedTextField
from core.models import TenantModel


class Connector(models.Model):
    """One connection to a carrier, run by the carrier gateway. Infrastructure: no account, no RLS."""

    class Kind(models.TextChoices):
        SMPP = "smpp"
        SIP = "sip"

    name = models.SlugField(max_length=64, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    # SMPP
    host = models.CharField(max_length=255, blank=True)
    port = models.PositiveIntegerField(default=2775)
    system_id = models.CharField(max_length=16, blank=True)
    system_type = models.CharField(max_length=13, blank=True)
    window = models.PositiveIntegerField(default=10)
    max_per_second = models.PositiveIntegerField(default=500)
    enquire_link_seconds = models.PositiveIntegerField(default=30)
    # SIP MESSAGE through Asterisk's ARI
    ari_url = models.URLField(blank=True)
    ari_username = models.CharField(max_length=64, blank=True)
    ari_app = models.CharField(max_length=64, blank=True)
    endpoint = models.CharField(max_length=255, blank=True)
    trunk_uri = models.CharField(max_length=255, blank=True)
    # The SMPP bind password, or the ARI password for a SIP connector.
    password_encrypted = EncryptedTextField(blank=True, aad=lambda connector: connector._aad())
    is_default = models.BooleanField(default=False)
    is_enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="connector_one_default"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def _aad(self) -> str:
        return f"-|messaging_connector|password|{self.name}"

    def set_password(self, password: str) -> None:
        self.password_encrypted = crypto.encrypt(password, aad=self._aad())

    @property
    def password(self) -> str:
        return crypto.decrypt(self.password_encrypted, aad=self._aad()) if self.password_encrypted else ""


class Message(TenantModel):
    SID_PREFIX = "SM"

    class Status(models.TextChoices):
        ACCEPTED = "accepted"
        SCHEDULED = "scheduled"
        QUEUED = "queued"
        SENDING = "sending"
        SENT = "sent"
        DELIVERED = "delivered"
        UNDELIVERED = "undelivered"
        FAILED = "failed"
        RECEIVING = "receiving"
        RECEIVED = "received"
        CANCELED = "canceled"

    class Direction(models.TextChoices):
        INBOUND = "inbound"
        OUTBOUND_API = "outbound-api"
        OUTBOUND_CALL = "outbound-call"
        OUTBOUND_REPLY = "outbound-reply"

    FINAL = frozenset({Status.DELIVERED, Status.UNDELIVERED, Status.FAILED, Status.CANCELED, Status.RECEIVED})

    direction = models.CharField(max_length=16, choices=Direction.choices)
    from_number = models.CharField(max_length=32)
    to_number = models.CharField(max_length=32)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    encoding = models.CharField(max_length=8, default="GSM-7")
    num_segments = models.PositiveSmallIntegerField(default=1)
    num_media = models.PositiveSmallIntegerField(default=0)
    error_code = models.IntegerField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=5, null=True, blank=True)
    price_unit = models.CharField(max_length=3, default="USD")
    messaging_service_sid = models.CharField(max_length=34, blank=True)
    status_callback = models.TextField(blank=True)
    status_callback_method = models.CharField(max_length=4, default="POST")
    date_sent = models.DateTimeField(null=True, blank=True)
    send_at = models.DateTimeField(null=True, blank=True)
    validity_period = models.PositiveIntegerField(default=36000)  # seconds, from send_at or creation
    phone_number = models.ForeignKey(
        "numbering.IncomingPhoneNumber", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    call = models.ForeignKey("voice.Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The alert this is one recipient's copy of (messaging/bulk/services.py, indexed in its migration).
    bulk = models.ForeignKey(
        "messaging.Bulk", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # Consent confirmations and HELP replies go to people who may have just opted out.
    is_consent_reply = models.BooleanField(default=False)
    # Delivery: the connector that carries it, the gateway that claimed it, the carrier's id per segment.
    connector = models.CharField(max_length=64, blank=True)
    gateway = models.CharField(max_length=128, blank=True)
    carrier_message_ids = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    segment_receipts = models.JSONField(default=dict, blank=True)  # carrier id -> receipt status
    # When it was last handed to the next stage (Celery, the carrier stream): the sweep's clock.
    handed_over_at = models.DateTimeField(null=True, blank=True)
    # Inbound: the SMS webhook is owed (set on receipt, cleared by the task that runs it).
    is_webhook_pending = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["account", "-date_created", "-id"], name="message_account_paging"),
            models.Index(fields=["account", "to_number", "-date_created", "-id"], name="message_to_paging"),
            models.Index(
                fields=["account", "from_number", "-date_created", "-id"], name="message_from_paging"
            ),
            models.Index(fields=["account", "date_sent"], name="message_date_sent"),
        ]

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL


class Media(TenantModel):
    """A media URL of a message (MMS); the URL is kept, the content is not fetched."""

    SID_PREFIX = "ME"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="media")
    url = models.TextField()
    content_type = models.CharField(max_length=128, default="application/octet-stream")

    class Meta:
        indexes = [models.Index(fields=["message", "date_created"])]


class ConsentState(TenantModel):
    """Whether `recipient` has opted out of texts from the tenant's number `sender`."""

    SID_PREFIX = "CS"

    sender = models.CharField(max_length=32)
    recipient = models.CharField(max_length=32)
    is_opted_out = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "sender", "recipient"], name="consent_state_unique")
        ]


class ConsentEvent(TenantModel):
    """One consent keyword received, kept for good (the application role cannot update or delete it).

    `source_message` keeps the id of the inbound message even after that message is deleted, which
    is why it carries no database constraint.
    """

    SID_PREFIX = "CE"

    class Action(models.TextChoices):
        OPT_OUT = "opt-out"
        OPT_IN = "opt-in"
        HELP = "help"

    sender = models.CharField(max_length=32)
    recipient = models.CharField(max_length=32)
    keyword = models.CharField(max_length=32)
    action = models.CharField(max_length=8, choices=Action.choices)
    is_change = models.BooleanField()  # False for a repeated STOP, or START while opted in
    source_message = models.ForeignKey(
        Message, null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["account", "sender", "recipient", "date_created"])]


class PendingMessage(models.Model):
    """A message some background process still owes work to (see the module docstring).

    `status` is the message's: `queued` (hand it over again once `since` is stale), `scheduled`
    (release at `since`, its SendAt), `sending` (claimed by `gateway`; resubmitted if that gateway
    restarts) or `received` (its SMS webhook has not run by `since` + the stale interval).
    """

    message_id = models.UUIDField(primary_key=True)
    account_id = models.UUIDField()
    status = models.CharField(max_length=16)
    gateway = models.CharField(max_length=128, blank=True)
    since = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["status", "since"]), models.Index(fields=["gateway", "status"])]

    def __str__(self) -> str:
        return f"{self.message_id} {self.status}"


class CarrierRoute(models.Model):
    """The message a carrier's id belongs to, so a delivery receipt finds its tenant."""

    connector = models.CharField(max_length=64)
    carrier_message_id = models.CharField(max_length=64)
    account_id = models.UUIDField()
    message_id = models.UUIDField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connector", "carrier_message_id"], name="carrier_route_unique")
        ]

    def __str__(self) -> str:
        return f"{self.connector}:{self.carrier_message_id}"


class Bulk(TenantModel):
    """One message to many recipients, such as a school's emergency alert (messaging/bulk/services.py).

    Each recipient kept becomes an ordinary `Message` pointing here, so a recipient's status is its
    message's. The bulk keeps what never became a message (the duplicates, the invalid numbers, the
    opted-out ones) and how many of its messages are in each status. It is `sending` until no message
    is queued or sending any more (every one was answered by the carrier, or failed): `completed`;
    or `canceled`.
    """

    SID_PREFIX = "BK"
    MAX_RECIPIENTS = 100_000

    class Status(models.TextChoices):
        # No "creating": a bulk and all its messages are inserted in one transaction, so nobody ever
        # sees one half made.
        SENDING = "sending"
        COMPLETED = "completed"
        CANCELED = "canceled"

    class MessageClass(models.TextChoices):
        """FERPA/FCC 16-88 classes (reference: compliance.md 1.3); the class is audited."""

        EMERGENCY = "emergency"  # health or safety: sent without prior consent, needs a threat basis
        SCHOOL_MISSION = "school-mission"  # closely related to the school's mission
        MARKETING = "marketing"

    from_number = models.CharField(max_length=32)
    phone_number = models.ForeignKey(
        "numbering.IncomingPhoneNumber", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    encoding = models.CharField(max_length=8, default="GSM-7")
    num_segments = models.PositiveSmallIntegerField(default=1)
    message_class = models.CharField(max_length=16, choices=MessageClass.choices)
    # The "articulable and significant threat" FERPA 99.32 wants recorded for an emergency disclosure.
    threat_basis = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    created_by = models.CharField(max_length=255)  # the audit actor
    # A client's key for retrying a create safely: the same key gives back the same bulk.
    idempotency_key = models.CharField(max_length=255, blank=True)
    num_requested = models.PositiveIntegerField(default=0)  # recipients as given
    num_duplicates = models.PositiveIntegerField(default=0)  # the same number again (after E.164)
    num_invalid = models.PositiveIntegerField(default=0)
    num_opted_out = models.PositiveIntegerField(default=0)
    num_messages = models.PositiveIntegerField(default=0)  # messages created: one per recipient kept
    # How many of those messages are in each status now; a trigger of the bulk migrations moves them in
    # the transaction that moves the messages, so they are always exact and sum to num_messages.
    # "Queued" counts the messages not answered by the carrier yet: queued, or claimed and being sent
    # (a gateway's claim moves no count, so it never waits for the row the carrier's answers are
    # counted in).
    num_queued = models.PositiveIntegerField(default=0)
    num_sent = models.PositiveIntegerField(default=0)
    num_delivered = models.PositiveIntegerField(default=0)
    num_undelivered = models.PositiveIntegerField(default=0)
    num_failed = models.PositiveIntegerField(default=0)
    num_canceled = models.PositiveIntegerField(default=0)
    invalid_recipients = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    opted_out_recipients = ArrayField(models.CharField(max_length=32), default=list, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "-date_created", "-id"], name="bulk_account_paging")]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="bulk_idempotency_key_unique",
            )
        ]
