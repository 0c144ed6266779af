"""`manage.py provision`: create roles and database, then apply migrations as the owner role."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.provisioning import ForeignSecrets, field_keys_check, migrate, provision_database


class Command(BaseCommand):
    help = "Create the PostgreSQL roles and database Switchboard needs and apply migrations."

    def handle(self, *args: Any, **options: Any) -> None:
        provision_database()
        try:
            field_keys_check()
        except ForeignSecrets as exc:
            raise CommandError(str(exc)) from exc
        migrate()
        self.stdout.write("database ready")
