"""`manage.py taskrouter`: the routing process. It runs routing passes (`engine.workspace_route`) for
every workspace notified or due, until SIGINT/SIGTERM.

Services send `NOTIFY taskrouter` with the workspace in the same transaction as a change that may
allow an assignment; the process runs a pass for each workspace notified, and for each whose timers
are due (a reservation timeout, an escalation, a task's TTL), sleeping in between until the earliest
due time, a notification, or at most `SWEEP_SECONDS`. It listens before it reads anything, and each
time it (re)starts listening it runs a pass for every workspace, since what was notified while it was
not listening is lost. Any number may run: passes claim with SKIP LOCKED.
"""

import logging
import os
import select
import signal
import uuid
from datetime import datetime
from functools import partial
from typing import Any

import psycopg
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections
from django.db.models import Min
from django.utils import timezone

from contactcenter.taskrouter.engine import workspace_route
from contactcenter.taskrouter.models import RoutingDue
from contactcenter.taskrouter.routing import CHANNEL
from core.db import db_work

log = logging.getLogger(__name__)
SWEEP_SECONDS = 30.0
DUE_BATCH = 100


def _listener() -> psycopg.Connection:
    params = connections["default"].get_connection_params()
    kept = {key: params[key] for key in ("dbname", "user", "password", "host", "port") if key in params}
    listener = psycopg.connect(**kept, autocommit=True)
    listener.execute(f"LISTEN {CHANNEL}")
    return listener


Route = tuple[uuid.UUID, uuid.UUID]  # a workspace and its account


def _notified(payload: str) -> Route | None:
    try:
        workspace_id, account_id = payload.split()
        return uuid.UUID(workspace_id), uuid.UUID(account_id)
    except ValueError:
        return None


class Router:
    """The loop, in steps a test can drive: `step` runs the passes wanted now, `wait` sleeps."""

    def __init__(self, *, hold_seconds: float = 0.0) -> None:
        self.hold_seconds = hold_seconds
        self.stopping = False
        self.listener: psycopg.Connection | None = None
        self.notified: dict[Route, None] = {}  # in arrival order, once each
        # `stop` writes here, so a sleeping `wait` returns at once (select is retried after signals).
        self._stop_read, self._stop_write = os.pipe()

    def stop(self) -> None:
        self.stopping = True
        os.write(self._stop_write, b"x")

    def due(self, *, every: bool) -> list[Route]:
        rows = RoutingDue.objects.order_by("due_at")
        if not every:
            rows = rows.filter(due_at__lte=timezone.now())[:DUE_BATCH]
        return list(rows.values_list("workspace_id", "account_id"))

    def next_due(self) -> datetime | None:
        return RoutingDue.objects.aggregate(at=Min("due_at"))["at"]

    def listen(self) -> bool:
        """Make sure the listener is up; True when it was not (so every workspace needs a pass)."""
        if self.listener is not None and not self.listener.closed:
            return False
        self.listener = _listener()
        return True

    def collect(self) -> None:
        """Note the workspaces notified so far, without waiting."""
        assert self.listener is not None
        try:
            for notify in self.listener.notifies(timeout=0):
                route = _notified(notify.payload)
                if route is not None:
                    self.notified[route] = None
        except psycopg.Error:
            log.exception("taskrouter: listening connection failed; listening again")
            self.listener = None

    def step(self) -> int:
        """Run one pass for each workspace notified or due now; the number of passes."""
        every = self.listen()
        self.collect()
        wanted = dict.fromkeys(db_work(partial(self.due, every=every), keep=True))
        wanted.update(self.notified)
        self.notified.clear()
        routes = list(wanted)
        for index, (workspace_id, account_id) in enumerate(routes):
            if self.stopping:
                break
            route = partial(
                workspace_route,
                workspace_id=workspace_id,
                account_id=account_id,
                hold_seconds=self.hold_seconds,
            )
            try:
                db_work(route, keep=True)
            except Exception:
                # Its wake may live only in the NOTIFY just consumed (a wake skips the routing-due row
                # while a pass holds it): keep this workspace and the ones after it for the next step.
                self.notified.update(dict.fromkeys(routes[index:]))
                raise
        return len(routes)

    def wait(self) -> None:
        """Sleep until the next due time, a notification or the sweep, whichever is first."""
        next_due = db_work(self.next_due, keep=True)
        seconds = SWEEP_SECONDS
        if next_due is not None:
            seconds = max(0.0, min(seconds, (next_due - timezone.now()).total_seconds()))
        if seconds <= 0 or self.listener is None:
            return
        try:
            select.select([self.listener.fileno(), self._stop_read], [], [], seconds)
        except (psycopg.Error, OSError):
            log.exception("taskrouter: listening connection failed; listening again")
            self.listener = None
            self.sleep_interruptibly(min(seconds, 1.0))

    def sleep_interruptibly(self, seconds: float) -> None:
        select.select([self._stop_read], [], [], seconds)

    def run(self) -> None:
        while not self.stopping:
            try:
                if not self.step():
                    self.wait()
            except Exception:  # one bad pass must not stop routing for everyone
                log.exception("taskrouter: routing pass failed; trying again in 1 s")
                self.sleep_interruptibly(1.0)
        if self.listener is not None:
            self.listener.close()


class Command(BaseCommand):
    help = "Route TaskRouter tasks to workers until SIGINT/SIGTERM."

    def add_arguments(self, parser: CommandParser) -> None:
        # For the test that kills a routing process mid-decision: each pass holds its claims this long.
        parser.add_argument(
            "--hold-seconds", type=float, default=0.0, help="test only: delay before each commit"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        router = Router(hold_seconds=options["hold_seconds"])

        def stop(signum: int, frame: Any) -> None:
            router.stop()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        log.info("taskrouter routing process started")
        router.run()
