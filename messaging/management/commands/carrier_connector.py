"""`manage.py carrier_connector NAME --kind smpp --host … --password …`: add or change a carrier connector.

Connectors are infrastructure an operator configures, like media servers; the gateway reads them when
it starts (restart it after a change). Without `--password` the stored one is kept.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from messaging.connectors import connector_save
from messaging.models import Connector

SETTINGS = (
    "host",
    "port",
    "system_id",
    "system_type",
    "window",
    "max_per_second",
    "enquire_link_seconds",
    "ari_url",
    "ari_username",
    "ari_app",
    "endpoint",
    "trunk_uri",
)


class Command(BaseCommand):
    help = "Add or change a carrier connector (SMPP bind or SIP MESSAGE trunk) run by the carrier gateway."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--kind", choices=Connector.Kind.values)
        for setting in SETTINGS:
            kind = int if setting in ("port", "window", "max_per_second", "enquire_link_seconds") else str
            parser.add_argument(f"--{setting.replace('_', '-')}", dest=setting, type=kind)
        parser.add_argument("--password", help="the SMPP bind password, or the ARI password for sip")
        parser.add_argument(
            "--default", action="store_true", help="carries the texts of numbers that name none"
        )
        parser.add_argument("--disable", action="store_true")
        parser.add_argument("--enable", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        connector = Connector.objects.filter(name=options["name"]).first() or Connector(name=options["name"])
        if options["kind"]:
            connector.kind = options["kind"]
        if not connector.kind:
            raise CommandError("--kind is required for a new connector")
        for setting in SETTINGS:
            if options[setting] is not None:
                setattr(connector, setting, options[setting])
        if options["password"] is not None:
            connector.set_password(options["password"])
        if options["enable"] or options["disable"]:
            connector.is_enabled = bool(options["enable"])
        connector_save(
            connector=connector, actor="operator:carrier_connector", is_sole_default=options["default"]
        )
        state = "enabled" if connector.is_enabled else "disabled"
        default = ", default" if connector.is_default else ""
        self.stdout.write(f"connector {connector.name} ({connector.kind}, {state}{default}) saved")
