"""TaskRouter's entries in the account's audit chain: `taskrouter.<resource>.<verb>`, with who made
the write."""

from typing import Any

from compliance.services import audit_record
from core.models import TenantModel


def taskrouter_audit(
    row: TenantModel, *, actor: str, action: str, payload: dict[str, Any] | None = None
) -> None:
    """Append `taskrouter.<action>` about `row` to its account's chain, in the caller's transaction;
    `payload` holds what was asked, parameters not given (None) left out."""
    audit_record(
        account_id=row.account_id,
        actor=actor,
        action=f"taskrouter.{action}",
        object_sid=row.sid,
        payload={name: value for name, value in (payload or {}).items() if value is not None},
    )
