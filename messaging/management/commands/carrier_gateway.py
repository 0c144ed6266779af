"""`manage.py carrier_gateway`: run the enabled carrier connectors and the send sweep until SIGINT/SIGTERM."""

import signal
import socket
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from messaging.gateway import MAX_UNRECORDED, STALE_SECONDS, SWEEP_SECONDS, CarrierGateway, connector_factory
from messaging.models import Connector


class Command(BaseCommand):
    help = "Submit queued messages to the carriers, and take their receipts and inbound messages."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--connector", action="append", help="connector name (default: all enabled)")
        parser.add_argument(
            "--name",
            default=socket.gethostname(),
            help="this gateway's name: keep it across restarts, so it resubmits what it left in sending",
        )
        parser.add_argument("--stale-seconds", type=float, default=STALE_SECONDS)
        parser.add_argument("--sweep-seconds", type=float, default=SWEEP_SECONDS)
        parser.add_argument(
            "--max-unrecorded",
            type=int,
            default=MAX_UNRECORDED,
            help="submission outcomes not yet written before connectors wait (bounds what a crash repeats)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rows = Connector.objects.filter(is_enabled=True).order_by("name")
        if options["connector"]:
            rows = rows.filter(name__in=options["connector"])
        gateway = CarrierGateway(
            name=options["name"],
            connectors={row.name: connector_factory(row) for row in rows},
            stale_seconds=options["stale_seconds"],
            sweep_seconds=options["sweep_seconds"],
            max_unrecorded=options["max_unrecorded"],
        )
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: gateway.stop())
        gateway.run()
