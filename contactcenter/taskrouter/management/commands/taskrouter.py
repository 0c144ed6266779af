"""`manage.py taskrouter`: the routing process. It runs routing passes (`engine.workspace_route`) for
every workspace that is due, until SIGINT/SIGTERM.

It sleeps until the earliest due time (a reservation timeout, an escalation, a task's TTL) or a
`NOTIFY taskrouter`, which services send in the same transaction as a change that may allow an
assignment, whichever comes first, and at most `SWEEP_SECONDS` (a safety sweep for a notification
lost while its listening connection was down). Any number may run: passes claim with SKIP LOCKED.
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


class Router:
    """The loop, in steps a test can drive: `step` runs the passes due now, `wait` sleeps."""

    def __init__(self, *, hold_seconds: float = 0.0) -> None:
        self.hold_seconds = hold_seconds
        self.stopping = False
        self.listener: psycopg.Connection | None = None
        # `stop` writes here, so a sleeping `wait` returns at once (select is retried after signals).
        self._stop_read, self._stop_write = os.pipe()

    def stop(self) -> None:
        self.stopping = True
        os.write(self._stop_write, b"x")

    def due(self) -> list[tuple[uuid.UUID, uuid.UUID]]:
        rows = RoutingDue.objects.filter(due_at__lte=timezone.now()).order_by("due_at")
        return list(rows.values_list("workspace_id", "account_id")[:DUE_BATCH])

    def next_due(self) -> datetime | None:
        return RoutingDue.objects.aggregate(at=Min("due_at"))["at"]

    def step(self) -> int:
        """Run one pass for each workspace due now; the number of passes."""
        due = db_work(self.due, keep=True)
        for workspace_id, account_id in due:
            if self.stopping:
                break
            route = partial(
                workspace_route,
                workspace_id=workspace_id,
                account_id=account_id,
                hold_seconds=self.hold_seconds,
            )
            db_work(route, keep=True)
        return len(due)

    def wait(self) -> None:
        """Sleep until the next due time, a notification or the sweep, whichever is first."""
        next_due = db_work(self.next_due, keep=True)
        seconds = SWEEP_SECONDS
        if next_due is not None:
            seconds = max(0.0, min(seconds, (next_due - timezone.now()).total_seconds()))
        if seconds <= 0:
            return
        try:
            if self.listener is None or self.listener.closed:
                self.listener = _listener()
            readable, _, _ = select.select([self.listener.fileno(), self._stop_read], [], [], seconds)
            if self.listener.fileno() in readable:
                for _ in self.listener.notifies(timeout=0):
                    pass
        except (psycopg.Error, OSError):
            log.exception("taskrouter: listening connection failed; sweeping instead")
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
                log.exception("taskrouter: routing pass failed")
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
