"""Waking the routing process. `taskrouter_wake`, called in the same transaction as a change that may
allow an assignment, sends `NOTIFY taskrouter` with the workspace (delivered only if the change
commits, and after it, so the pass it starts sees the change); every listening routing process runs a
pass for that workspace. `taskrouter_routingdue` says when each workspace next needs a pass for its
timers; a wake writes it only when it would move earlier, never waiting for its lock, so a
workspace's writes do not queue behind one row. A process that starts or re-listens runs a pass for
every workspace, which covers what was notified while no one listened.

Inside a routing pass, wakes are only noted (`deferred_wakes`): the pass reschedules its workspace
itself after it commits, and never holding the routing-due row while it locks tasks and workers
keeps it out of lock cycles with API requests that wake at their end.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from django.db import connection
from django.db.models import OuterRef, Subquery

from contactcenter.taskrouter.models import RoutingDue

CHANNEL = "taskrouter"

_deferred: ContextVar[set[uuid.UUID] | None] = ContextVar("taskrouter_deferred_wakes", default=None)


def routing_wake(*, workspace_id: uuid.UUID, at: datetime | None = None) -> None:
    """Ask for a pass over the workspace now (NOTIFY) and by `at` (now when None) at the latest.

    Must run inside the change's transaction, scoped to the workspace's account."""
    deferred = _deferred.get()
    if deferred is not None:
        deferred.add(workspace_id)
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT taskrouter_wake(%s, COALESCE(%s, now()))", [workspace_id, at])


@contextmanager
def deferred_wakes() -> Iterator[set[uuid.UUID]]:
    """Collect the wakes asked for inside a routing pass instead of writing them."""
    woken: set[uuid.UUID] = set()
    token = _deferred.set(woken)
    try:
        yield woken
    finally:
        _deferred.reset(token)


def routing_version_field() -> Subquery:
    """`routing_version` as an annotation of a workspace query (the pass reads both in one)."""
    return Subquery(RoutingDue.objects.filter(workspace_id=OuterRef("id")).values("version")[:1])


def routing_version(*, workspace_id: uuid.UUID) -> int:
    """The workspace's wake counter, read before a pass so `routing_reschedule` cannot push a wake
    that moved the row earlier meanwhile into the future."""
    due = RoutingDue.objects.filter(workspace_id=workspace_id).values_list("version", flat=True).first()
    return due or 0


def routing_reschedule(*, workspace_id: uuid.UUID, seen_version: int, at: datetime | None) -> bool:
    """Set the next pass to `at` (None: until woken), unless a wake came since `seen_version`."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT taskrouter_reschedule(%s, %s, %s)", [workspace_id, seen_version, at])
        return bool(cursor.fetchone()[0])
