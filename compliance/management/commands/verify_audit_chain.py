"""`manage.py verify_audit_chain AC… [AC…] [platform] | --all`: recompute chains and name the first broken
entry; `platform` is the chain of what belongs to no account (carrier connectors)."""

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Min

from compliance.models import PLATFORM_CHAIN_ID, AuditChainHead, AuditEntry
from compliance.services import audit_chain_verify
from core.sids import make_sid, sid_to_uuid
from core.tenancy import tenant_scope


def every_chain() -> list[uuid.UUID]:
    """Every account the audit tables know, oldest chain first: each account's first entry is its
    creation. A chain head left without entries, or entries without their head, are listed too, so
    a chain emptied by hand is still verified (and found broken)."""
    starts = (
        AuditEntry.objects.using("admin")
        .values("account_id")
        .annotate(started_at=Min("created_at"))
        .order_by("started_at", "account_id")
    )
    ordered = [row["account_id"] for row in starts]
    heads = set(AuditChainHead.objects.using("admin").values_list("account_id", flat=True))
    return ordered + sorted(heads - set(ordered))


def _chain_id(name: str) -> uuid.UUID | None:
    return PLATFORM_CHAIN_ID if name == "platform" else sid_to_uuid(name, "AC")


class Command(BaseCommand):
    help = "Verify accounts' audit chains; exits non-zero if any chain is broken."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("account_sids", nargs="*", help="AccountSids to verify, or platform")
        parser.add_argument(
            "--all", action="store_true", help="verify every account (uses the admin connection)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["all"]:
            account_ids = every_chain()
        else:
            parsed = [_chain_id(sid) for sid in options["account_sids"]]
            account_ids = [account_id for account_id in parsed if account_id is not None]
            if not account_ids or len(account_ids) != len(parsed):
                raise CommandError("give one or more AccountSids (AC + 32 hex digits) or platform, or --all")
        broken = 0
        for account_id in account_ids:
            with tenant_scope(account_id):
                verdict = audit_chain_verify(account_id=account_id)
            sid = "platform" if account_id == PLATFORM_CHAIN_ID else make_sid("AC", account_id)
            if verdict.is_intact:
                self.stdout.write(f"{sid}: intact, {verdict.entries} entries")
            else:
                broken += 1
                self.stdout.write(f"{sid}: BROKEN at entry {verdict.first_broken_seq}: {verdict.reason}")
        if broken:
            raise CommandError(f"{broken} broken chain(s)")
