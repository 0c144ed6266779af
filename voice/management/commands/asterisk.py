"""`manage.py asterisk ACTION`: set up, run, start, stop, inspect the local Asterisk of a MediaServer."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mediaserver.asterisk import AsteriskError, AsteriskSetupError, ensure_root
from voice.media_servers import DEFAULT_SERVER, instance_for, media_server_check, media_server_ensure

ACTIONS = ("setup", "config", "start", "run", "stop", "status")


class Command(BaseCommand):
    help = (
        "Manage the local Asterisk instance serving a MediaServer row (created with defaults if absent). "
        "setup: make the chroot and write the config; config: rewrite the config; start: start detached "
        "and wait for ARI; run: run in the foreground (for a supervisor such as honcho); stop; status."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=ACTIONS)
        parser.add_argument("--server", default=DEFAULT_SERVER, help="MediaServer name (default: local)")
        parser.add_argument("--instance", help="instance name in the chroot (default: the server's name)")
        parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for ARI on start")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        server = media_server_ensure(name=options["server"])
        instance = instance_for(server, name=options["instance"])
        try:
            if action == "setup":
                started = time.monotonic()
                ensure_root(instance.root)
                etc = instance.write_config()
                self.stdout.write(
                    f"chroot {instance.root} ready, config in {etc} ({time.monotonic() - started:.1f} s)"
                )
            elif action == "config":
                self.stdout.write(f"config written to {instance.write_config()}")
            elif action == "start":
                seconds = instance.start(timeout=options["timeout"])
                self.stdout.write(f"asterisk {instance.name} up: ARI {instance.ari_url} ({seconds:.1f} s)")
            elif action == "run":
                instance.run_foreground()  # does not return
            elif action == "stop":
                instance.stop()
                self.stdout.write(f"asterisk {instance.name} stopped")
            else:
                status = media_server_check(server=server, instance=instance)
                self.stdout.write(
                    f"server {server.name}, instance {instance.name}: "
                    f"{'running' if status.is_running else 'not running'}\n"
                    f"ARI {instance.ari_url}: {status.ari_version or 'not answering'}\n"
                    f"SIP (inbound calls enter here): {status.sip_address}\n"
                    f"state: {status.state}"
                )
        except (AsteriskError, AsteriskSetupError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
