"""Media servers (Asterisk nodes), calls with their timelines, and recordings."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from core import crypto
from core.encrypted import EncryptedTextField
from core.models import TenantModel
from mediaserver.asterisk.config import stasis_apps


class MediaServer(models.Model):
    """An Asterisk node driven over ARI; a second node is a second row, not new code.

    Infrastructure, not tenant data: it carries no account and has no row-level security.
    """

    class State(models.TextChoices):
        UNKNOWN = "unknown"
        UP = "up"
        DOWN = "down"

    name = models.SlugField(max_length=64, unique=True)
    ari_url = models.URLField(default="http://127.0.0.1:8088/ari")
    ari_username = models.CharField(max_length=64, default="switchboard")
    ari_password_encrypted = EncryptedTextField(aad=lambda server: server._aad())
    ari_app = models.CharField(max_length=64, default="switchboard")
    # ARI worker processes, each with its own Stasis app (ari_app, ari_app-1, ...); one uses one core.
    worker_processes = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(32)]
    )
    sip_host = models.CharField(max_length=255, default="127.0.0.1")
    sip_port = models.PositiveIntegerField(default=5060)
    # HTTPS/WSS port of Asterisk's HTTP server, where browser softphones register (on sip_host).
    wss_port = models.PositiveIntegerField(default=8089)
    # Where calls to the PSTN go: the carrier's SIP address (a sipp UAS in tests).
    trunk_uri = models.CharField(max_length=255, default="sip:127.0.0.1:5090")
    # A host folder Asterisk reads as sounds/switchboard/, for prompts rendered or fetched by the worker.
    sounds_dir = models.CharField(max_length=1024, blank=True)
    is_enabled = models.BooleanField(default=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.UNKNOWN)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name

    def _aad(self) -> str:
        return f"-|voice_mediaserver|ari_password|{self.name}"

    def set_ari_password(self, password: str) -> None:
        self.ari_password_encrypted = crypto.encrypt(password, aad=self._aad())

    @property
    def ari_password(self) -> str:
        return crypto.decrypt(self.ari_password_encrypted, aad=self._aad())

    @property
    def stasis_apps(self) -> list[str]:
        return stasis_apps(self.ari_app, self.worker_processes)

    @property
    def sip_address(self) -> str:
        return f"{self.sip_host}:{self.sip_port}"


class Call(TenantModel):
    SID_PREFIX = "CA"

    class Status(models.TextChoices):
        QUEUED = "queued"
        INITIATED = "initiated"
        RINGING = "ringing"
        IN_PROGRESS = "in-progress"
        COMPLETED = "completed"
        BUSY = "busy"
        FAILED = "failed"
        NO_ANSWER = "no-answer"
        CANCELED = "canceled"

    class Direction(models.TextChoices):
        INBOUND = "inbound"
        OUTBOUND_API = "outbound-api"
        OUTBOUND_DIAL = "outbound-dial"

    ENDED = frozenset({Status.COMPLETED, Status.BUSY, Status.FAILED, Status.NO_ANSWER, Status.CANCELED})

    parent_call = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    phone_number = models.ForeignKey(
        "numbering.IncomingPhoneNumber", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    direction = models.CharField(max_length=16, choices=Direction.choices)
    from_number = models.CharField(max_length=255)
    to_number = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    # Where the call's TwiML comes from; `twiml` holds an inline document instead.
    url = models.TextField(blank=True)
    method = models.CharField(max_length=4, default="POST")
    fallback_url = models.TextField(blank=True)
    fallback_method = models.CharField(max_length=4, default="POST")
    twiml = models.TextField(blank=True)
    status_callback = models.TextField(blank=True)
    status_callback_method = models.CharField(max_length=4, default="POST")
    status_callback_events = models.JSONField(default=list)
    timeout_seconds = models.PositiveIntegerField(default=60)
    is_recorded = models.BooleanField(default=False)
    media_server = models.ForeignKey(
        MediaServer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel_id = models.CharField(max_length=128, blank=True, db_index=True)
    callback_sequence = models.PositiveIntegerField(default=0)
    # Set when the call runs `<Enqueue>` or claims a caller with `<Dial><Queue>`, so the end of every
    # other call (the many) skips the contact center's queue cleanup without a query.
    has_used_queue = models.BooleanField(default=False, db_default=False)
    # Set when a supervisor monitors it, so the end of every other call skips ending monitors.
    has_been_monitored = models.BooleanField(default=False, db_default=False)

    class Meta:
        indexes = [models.Index(fields=["account", "-date_created", "-id"], name="call_account_paging")]

    @property
    def duration_seconds(self) -> int | None:
        if self.answered_at is None or self.end_time is None:
            return None if self.end_time is None else 0
        return max(0, round((self.end_time - self.answered_at).total_seconds()))


class CallEvent(TenantModel):
    """One step in a call's timeline: a verb run, a webhook fetched, a status change, an error."""

    SID_PREFIX = "EV"

    class Kind(models.TextChoices):
        STATUS = "status"
        VERB = "verb"
        WEBHOOK = "webhook"
        ERROR = "error"

    # When it happened, not when it was written: the worker writes a call's events in batches.
    date_created = models.DateTimeField(default=timezone.now)
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=64)
    detail = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["call", "date_created"])]


class Recording(TenantModel):
    SID_PREFIX = "RE"

    class Status(models.TextChoices):
        IN_PROGRESS = "in-progress"
        PROCESSING = "processing"
        COMPLETED = "completed"
        ABSENT = "absent"
        FAILED = "failed"

    class Source(models.TextChoices):
        RECORD_VERB = "RecordVerb"
        DIAL_VERB = "DialVerb"
        OUTBOUND_API = "OutboundAPI"

    call = models.ForeignKey(Call, null=True, on_delete=models.SET_NULL, related_name="recordings")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.RECORD_VERB)
    duration_seconds = models.PositiveIntegerField(null=True)
    channels = models.PositiveSmallIntegerField(default=1)
    # Encrypted at rest: path of the sealed file under the recordings folder, and digests for the audit chain.
    media_path = models.CharField(max_length=1024, blank=True)
    media_sha256 = models.CharField(max_length=64, blank=True)
    plaintext_sha256 = models.CharField(max_length=64, blank=True)
    content_type = models.CharField(max_length=64, default="audio/x-wav")
    data_key_encrypted = EncryptedTextField(blank=True, aad=lambda recording: recording.data_key_aad())

    class Meta:
        indexes = [models.Index(fields=["account", "-date_created", "-id"], name="recording_account_paging")]

    def data_key_aad(self) -> str:
        """The associated data the recording's wrapped data key is sealed under (rotate_field_keys rewraps
        it under the same)."""
        return f"{self.account_id}|voice_recording|data_key|{self.id}"


class CallMonitor(TenantModel):
    """A supervisor listening to, whispering to or barging into a live call (an agent's leg).

    The row is the audit trail's object and what the portal answers with; the live state is in
    Asterisk (the supervisor's leg, a mixing bridge and the snoop channel on the agent's leg, all
    named after this row), held by the ARI worker process that runs the monitored call.
    """

    SID_PREFIX = "CM"

    class Mode(models.TextChoices):
        LISTEN = "listen"
        WHISPER = "whisper"
        BARGE = "barge"

    class Status(models.TextChoices):
        CONNECTING = "connecting"  # the supervisor's phone is ringing
        ACTIVE = "active"
        ENDED = "ended"

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="+")  # the agent's leg
    supervisor = models.ForeignKey("tenants.Membership", on_delete=models.CASCADE, related_name="+")
    mode = models.CharField(max_length=8, choices=Mode.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONNECTING)
    target = models.CharField(max_length=255)  # where the supervisor's leg was dialled
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["call", "supervisor"],
                condition=~models.Q(status="ended"),
                name="call_monitor_one_live_per_supervisor",
            )
        ]
