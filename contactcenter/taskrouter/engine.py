"""One routing pass over one workspace: fire its due timers, then offer its pending tasks to free
workers, in one transaction under the workspace's tenant; then say when it next needs a pass. The
workspace, its wake counter and its timers' earliest deadlines are read in one statement, and a
timer is read further only once its deadline has passed.

A pass killed anywhere loses nothing: its transaction rolls back, and the workspace stays due (the
reschedule happens only after the commit), so the next pass (this process's or another's) decides
again. Concurrent passes on one workspace are safe: every claim skips rows another holds.
"""

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from contactcenter.taskrouter.assignment import assign
from contactcenter.taskrouter.models import Workspace
from contactcenter.taskrouter.routing import (
    deferred_wakes,
    routing_reschedule,
    routing_version,
    routing_version_field,
)
from contactcenter.taskrouter.timers import deadline_fields, deadlines_of, next_deadline, timers_fire
from core.tenancy import tenant_scope

# How soon a pass that skipped rows another transaction held looks again, in case that one died.
CONTENDED_RETRY = timedelta(seconds=2)


@dataclass(frozen=True)
class Pass:
    reservations: int
    timed_out: int
    expired: int
    escalated: int
    again: bool  # more work may be waiting: the workspace stays due now


def workspace_route(*, workspace_id: uuid.UUID, account_id: uuid.UUID, hold_seconds: float = 0.0) -> Pass:
    """Run one pass; `hold_seconds` keeps the transaction of a pass that reserved something (and its
    claims) open before committing, for the test that kills a routing process mid-assignment."""
    with deferred_wakes() as woken, tenant_scope(account_id):
        workspace = (
            Workspace.objects.select_related("account")
            .annotate(routing_seen=routing_version_field(), **deadline_fields())
            .filter(id=workspace_id)
            .first()
        )
        if workspace is None:
            seen = routing_version(workspace_id=workspace_id)
            routing_reschedule(workspace_id=workspace_id, seen_version=seen, at=None)
            return Pass(0, 0, 0, 0, again=False)
        seen = workspace.routing_seen or 0  # type: ignore[attr-defined]
        deadlines = deadlines_of(workspace)
        now = timezone.now()
        fired = timers_fire(workspace, now=now, deadlines=deadlines)
        assigned = assign(workspace, now=now)
        if hold_seconds and assigned.reservations:
            time.sleep(hold_seconds)
    again = fired.more or assigned.more or bool(woken)
    with tenant_scope(account_id):
        now = timezone.now()
        if again:
            next_at: datetime | None = now
        elif fired.any():  # the timers that fired moved their deadlines: read them again
            next_at = next_deadline(workspace_id)
        else:  # as read before the pass, and the offers it made
            next_at = deadlines.earliest(assigned.first_timeout)
        if assigned.contended:
            next_at = min(next_at or now + CONTENDED_RETRY, now + CONTENDED_RETRY)
        routing_reschedule(workspace_id=workspace_id, seen_version=seen, at=next_at)
    return Pass(assigned.reservations, fired.timed_out, fired.expired, fired.escalated, again=again)
