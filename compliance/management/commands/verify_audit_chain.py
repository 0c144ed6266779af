"""`manage.py verify_audit_chain AC… [AC…] | --all`: recompute chains and name the first broken entry."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from compliance.services import audit_chain_verify
from core.sids import make_sid, sid_to_uuid
from core.tenancy import tenant_scope
from tenants.models import Account


class Command(BaseCommand):
    help = "Verify accounts' audit chains; exits non-zero if any chain is broken."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("account_sids", nargs="*", help="AccountSids to verify")
        parser.add_argument(
            "--all", action="store_true", help="verify every account (uses the admin connection)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["all"]:
            account_ids = list(
                Account.objects.using("admin").order_by("date_created").values_list("id", flat=True)
            )
        else:
            parsed = [sid_to_uuid(sid, "AC") for sid in options["account_sids"]]
            account_ids = [account_id for account_id in parsed if account_id is not None]
            if not account_ids or len(account_ids) != len(parsed):
                raise CommandError("give one or more AccountSids (AC + 32 hex digits), or --all")
        broken = 0
        for account_id in account_ids:
            with tenant_scope(account_id):
                verdict = audit_chain_verify(account_id=account_id)
            sid = make_sid("AC", account_id)
            if verdict.is_intact:
                self.stdout.write(f"{sid}: intact, {verdict.entries} entries")
            else:
                broken += 1
                self.stdout.write(f"{sid}: BROKEN at entry {verdict.first_broken_seq}: {verdict.reason}")
        if broken:
            raise CommandError(f"{broken} broken chain(s)")
