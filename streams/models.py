"""A Media Stream: one call's audio carried to a websocket app by a media bridge, and how it ended."""

from django.db import models
from django.db.models import Q

from core.models import TenantModel


class Stream(TenantModel):
    """Started by `<Connect><Stream>` (bidirectional), `<Start><Stream>` or the Streams API (forks).

    A stream is stopped once (a conditional update from in-progress), which is what makes its
    stream-stopped callback go out once however many ways it ends at the same moment. Its name is
    unique among the call's live streams, as Twilio's `<Stop><Stream name>` needs.
    """

    SID_PREFIX = "MZ"

    class Track(models.TextChoices):
        INBOUND = "inbound_track"
        OUTBOUND = "outbound_track"
        BOTH = "both_tracks"

    class Status(models.TextChoices):
        IN_PROGRESS = "in-progress"
        STOPPED = "stopped"

    class Ending(models.TextChoices):
        """Why a stopped stream stopped."""

        STOPPED = "stopped"  # <Stop><Stream> or the API's Status=stopped
        APP_CLOSED = "app-closed"  # the app closed its websocket
        CALL_ENDED = "call-ended"
        MEDIA_ENDED = "media-ended"  # its media channel went (the bridge died, Asterisk dropped it)
        FAILED = "failed"  # never carried audio (no bridge, the app unreachable)

    call = models.ForeignKey("voice.Call", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=256)
    url = models.CharField(max_length=2048)
    track = models.CharField(max_length=16, choices=Track.choices, default=Track.INBOUND)
    is_bidirectional = models.BooleanField(default=False)
    parameters = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    ended_by = models.CharField(max_length=16, choices=Ending.choices, blank=True)
    status_callback = models.CharField(max_length=2048, blank=True)
    status_callback_method = models.CharField(max_length=4, default="POST")
    bridge_id = models.CharField(max_length=64, blank=True)
    connection_ids = models.JSONField(default=list)  # one per media leg: also its channel's id
    started_at = models.DateTimeField(null=True, blank=True)  # the app's socket opened
    error_code = models.PositiveIntegerField(null=True, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["call", "name"], condition=Q(status="in-progress"), name="stream_live_name_per_call"
            )
        ]
