"""Starting a queued outbound call on a media server, by one of its ARI workers."""

import uuid

from django.utils import timezone

from core.error_codes import ErrorCode
from core.tenancy import tenant_scope
from voice import control_channel
from voice.call_setup import CallSetup, call_setup_of
from voice.call_state import call_error_and_fail
from voice.models import Call, CallEvent, MediaServer
from voice.status_callbacks import status_callback_send
from voice.timeline import event_add


def call_originate(*, account_id: uuid.UUID, call_id: uuid.UUID) -> None:
    """Start a queued call: mark it initiated on a media server and hand it to one of the server's
    ARI workers (`control_channel.originate`), which creates its channel, dials it and runs it.

    Idempotent: only a call still `queued` is originated, so a redelivered task does nothing.
    """
    with tenant_scope(account_id):
        call = Call.objects.select_for_update().get(id=call_id)
        if call.status != Call.Status.QUEUED:
            return
        server = MediaServer.objects.filter(is_enabled=True).order_by("-state", "id").first()
        if server is None:
            call_error_and_fail(
                call, ErrorCode.TO_NOT_REACHABLE, "No media server is available to place the call"
            )
            return
        call.media_server = server
        call.status = Call.Status.INITIATED
        call.start_time = timezone.now()
        call.save(update_fields=["media_server", "status", "start_time", "date_updated"])
        event_add(call, CallEvent.Kind.STATUS, "initiated", {"media_server": server.name})
        status_callback_send(call, "initiated")
    command = control_channel.Originate(
        action="originate", call_sid=call.sid, account_id=str(account_id), timeout=call.timeout_seconds
    )
    if not control_channel.originate(media_server_id=server.id, apps=server.stasis_apps, command=command):
        call_originate_failed(
            account_id=account_id,
            call_id=call_id,
            message=f"Could not originate the call: no ARI worker of {server.name} is connected",
        )


def call_originate_failed(*, account_id: uuid.UUID, call_id: uuid.UUID, message: str) -> None:
    """The call could not be started on its media server: 21214, and it ends as failed; nothing if
    it ended meanwhile (canceled while its channel was being made)."""
    with tenant_scope(account_id):
        call = Call.objects.select_for_update().get(id=call_id)
        if call.status not in Call.ENDED:
            call_error_and_fail(call, ErrorCode.TO_NOT_REACHABLE, message)


def outbound_call_setup(*, account_id: uuid.UUID, call_id: uuid.UUID) -> CallSetup | None:
    """What the worker handed the call needs to create its channel and run it; None unless the call
    is still `initiated`. The row lock is the one `call_state.call_update` takes to cancel an
    initiated call, so exactly one of them wins."""
    with tenant_scope(account_id):
        calls = Call.objects.select_for_update(of=("self",)).select_related("account")
        call = calls.filter(id=call_id).first()
        if call is None or call.status != Call.Status.INITIATED:
            return None
        return call_setup_of(call, call.account)
