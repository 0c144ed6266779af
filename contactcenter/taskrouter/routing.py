"""Waking the routing process: `taskrouter_routingdue` says when each workspace next needs a pass,
and `NOTIFY taskrouter` (sent by `taskrouter_wake` in the same transaction as the change, so it is
delivered only if that commits) wakes a sleeping routing process at once.

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

from contactcenter.taskrouter.models import RoutingDue

CHANNEL = "taskrouter"

_deferred: ContextVar[set[uuid.UUID] | None] = ContextVar("taskrouter_deferred_wakes", default=None)


def routing_wake(*, workspace_id: uuid.UUID, at: datetime | None = None) -> None:
    """Ask for a pass over the workspace at `at` (now when None), or earlier if one is already due.

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


def routing_version(*, workspace_id: uuid.UUID) -> int:
    """The workspace's wake counter, read before a pass so `routing_reschedule` loses no wake."""
    due = RoutingDue.objects.filter(workspace_id=workspace_id).values_list("version", flat=True).first()
    return due or 0


def routing_reschedule(*, workspace_id: uuid.UUID, seen_version: int, at: datetime | None) -> bool:
    """Set the next pass to `at` (None: until woken), unless a wake came since `seen_version`."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT taskrouter_reschedule(%s, %s, %s)", [workspace_id, seen_version, at])
        return bool(cursor.fetchone()[0])
