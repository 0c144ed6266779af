"""`manage.py rotate_field_keys`: re-encrypt every encrypted column under the newest field-encryption key.

Put the new key first (in `.data/secrets.json`'s `field_keys` or SWITCHBOARD_FIELD_KEYS), keep the old
ones after it, restart the processes, run this command, then drop the old keys (docs/setup.md,
"Secrets and how to rotate them"). It crosses tenants, so it uses the operator's admin connection.
"""

from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import models, transaction

from core import crypto
from core.provisioning import field_keys_seal
from core.sids import sid_to_uuid
from messaging.models import Connector
from tenants.models import Account
from voice.models import MediaServer, Recording
from voice.recordings import recording_key_aad

# Every column core.crypto writes, with the associated data its row is sealed under. Dropping a key
# leaves any column missing here unreadable, so a new encrypted column belongs in this list.
ENCRYPTED_COLUMNS: tuple[tuple[type[models.Model], str, Callable[[Any], str]], ...] = (
    (Account, "auth_token_encrypted", lambda account: account._token_aad()),
    (Account, "secondary_auth_token_encrypted", lambda account: account._secondary_token_aad()),
    (Recording, "data_key_encrypted", recording_key_aad),
    (MediaServer, "ari_password_encrypted", lambda server: server._aad()),
    (Connector, "password_encrypted", lambda connector: connector._aad()),
)


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
            for model, column, aad in ENCRYPTED_COLUMNS:
                rows = model._default_manager.using("admin").select_for_update().exclude(**{column: ""})
                if account_ids:
                    if model is Account:
                        rows = rows.filter(id__in=account_ids)
                    elif any(field.name == "account" for field in model._meta.fields):
                        rows = rows.filter(account_id__in=account_ids)
                    else:
                        continue  # platform-wide rows belong to no account
                rotated = 0
                for row in rows.order_by("pk").iterator(chunk_size=1000):
                    token = getattr(row, column)
                    if crypto.is_current(token):
                        continue
                    setattr(row, column, crypto.encrypt(crypto.decrypt(token, aad=aad(row)), aad=aad(row)))
                    row.save(using="admin", update_fields=[column])
                    rotated += 1
                counts.append(f"{rotated} {model._meta.db_table}.{column}")
        field_keys_seal()  # the database's own check value, under the newest key too
        self.stdout.write(f"re-encrypted under key {crypto.current_key_version()}: {', '.join(counts)}")
