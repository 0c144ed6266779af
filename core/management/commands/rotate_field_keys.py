"""`manage.py rotate_field_keys`: re-encrypt stored secrets under the newest SWITCHBOARD_FIELD_KEYS key.

Put the new key first in SWITCHBOARD_FIELD_KEYS, keep the old ones after it, run this command,
then drop the old keys. It crosses tenants, so it uses the operator's admin connection.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from core import crypto
from core.sids import sid_to_uuid
from tenants.models import Account


class Command(BaseCommand):
    help = "Re-encrypt account auth tokens under the current field-encryption key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("account_sids", nargs="*", help="only these accounts (default: every account)")

    def handle(self, *args: Any, **options: Any) -> None:
        accounts = Account.objects.using("admin").select_for_update()
        if options["account_sids"]:
            accounts = accounts.filter(id__in=[sid_to_uuid(sid, "AC") for sid in options["account_sids"]])
        rotated = 0
        with transaction.atomic(using="admin"):
            for account in accounts.iterator(chunk_size=1000):
                if crypto.is_current(account.auth_token_encrypted):
                    continue
                account.set_auth_token(account.auth_token)
                account.save(using="admin", update_fields=["auth_token_encrypted"])
                rotated += 1
        self.stdout.write(f"re-encrypted {rotated} auth token(s) under key {crypto.current_key_version()}")
