"""Supervisors monitoring calls from the routing board: which call leg a busy worker is on, and which
of the supervisor's phones rings. The monitor itself (checks, audit, the ARI worker's part) is
voice's: voice/monitoring.py.

The phone is the `contact_uri` of the supervisor's own worker (`Worker.member`), the address a
`dequeue` would ring them at: a number, a `sip:` URI, or their browser softphone's address once
the console has one, so the dial target follows whatever the worker's contact is.
"""

from contactcenter.models import QueueMember
from contactcenter.taskrouter.models import Worker
from core.sids import sid_to_uuid
from tenants.context import TenantContext
from voice.models import CallMonitor
from voice.monitoring import monitor_start


def supervisor_phone(*, tenant: TenantContext) -> str:
    """The first contact_uri among the member's workers; empty when they have none."""
    workers = Worker.objects.filter(account_id=tenant.account.id, member=tenant.membership).order_by(
        "date_created"
    )
    for attributes in workers.values_list("attributes_json", flat=True):
        if isinstance(attributes, dict) and attributes.get("contact_uri"):
            return str(attributes["contact_uri"])
    return ""


def agent_call_sid(call_sid: str) -> str:
    """The call to monitor for a queued caller `call_sid`: the agent's `<Dial><Queue>` call it was
    bridged to; any other call (a caller a `dequeue` put through, whose agent is its own leg) is
    itself."""
    call_id = sid_to_uuid(call_sid, "CA")
    member = (
        QueueMember.objects.filter(
            call_id=call_id, result=QueueMember.Result.BRIDGED, dequeued_by__isnull=False
        )
        .select_related("dequeued_by")
        .order_by("-date_created")
        .first()
        if call_id
        else None
    )
    return member.dequeued_by.sid if member and member.dequeued_by else call_sid


def board_monitor_start(*, tenant: TenantContext, call_sid: str, mode: str) -> CallMonitor:
    """A monitor of `call_sid` (a worker's task's call) ringing the supervisor's own phone."""
    assert tenant.membership is not None  # portal views only
    return monitor_start(
        account=tenant.account,
        supervisor=tenant.membership,
        call_sid=agent_call_sid(call_sid),
        mode=mode,
        target=supervisor_phone(tenant=tenant),
        actor=tenant.actor,
    )
