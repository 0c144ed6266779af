"""`manage.py rotate_field_keys`: re-encrypt every encrypted column under the newest field-encryption key.

Put the new key first (in `.data/secrets.json`'s `field_keys` or SWITCHBOARD_FIELD_KEYS), keep the old
ones after it, restart the processes, run this command, then drop the old keys (docs/setup.md,
"Secrets and how to rotate them"). It crosses tenants, so it uses the operator's admin connection.
"""

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandParser
from django.db import models, transaction

from core import crypto
from core.encrypted import EncryptedTextField
from core.provisioning import field_keys_seal
from core.sids import sid_to_uuid

# The model whose rows are the accounts themselves (core.models.TenantModel's foreign key names it).
ACCOUNT_MODEL = "tenants.Account"


def encrypted_columns() -> list[tuple[type[models.Model], EncryptedTextField]]:
    """Every column core.crypto writes: each model field of the registry that is an EncryptedTextField."""
    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


def _of_accounts(rows: models.QuerySet[Any], account_ids: list[Any]) -> models.QuerySet[Any] | None:
    """The rows of these accounts only; None for platform-wide rows, which belong to no account."""
    if rows.model._meta.label == ACCOUNT_MODEL:
        return rows.filter(id__in=account_ids)
    if any(field.name == "account" for field in rows.model._meta.fields):
        return rows.filter(account_id__in=account_ids)
    return None


class Command(BaseCommand):
    help = (
        "Re-encrypt auth tokens, recording keys and media-server and carrier passwords under the newest key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "account_sids",
            nargs="*",
            help="only these accounts' auth tokens and recordings (default: every encrypted value)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        account_ids = [sid_to_uuid(sid, "AC") for sid in options["account_sids"]]
        counts = []
        with transaction.atomic(using="admin"):
            for model, field in encrypted_columns():
                column = field.name
                rows: models.QuerySet[Any] | None = (
                    model._default_manager.using("admin").select_for_update().exclude(**{column: ""})
                )
                if account_ids:
                    rows = _of_accounts(rows, account_ids)  # type: ignore[arg-type]
                if rows is None:
                    continue
                rotated = 0
                for row in rows.order_by("pk").iterator(chunk_size=1000):
                    token, aad = getattr(row, column), field.aad(row)
                    if crypto.is_current(token):
                        continue
                    setattr(row, column, crypto.encrypt(crypto.decrypt(token, aad=aad), aad=aad))
                    row.save(using="admin", update_fields=[column])
                    rotated += 1
                counts.append(f"{rotated} {model._meta.db_table}.{column}")
        field_keys_seal()  # the database's own check value, under the newest key too
        self.stdout.write(f"re-encrypted under key {crypto.current_key_version()}: {', '.join(counts)}")
