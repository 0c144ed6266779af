"""TaskRouter's entries in the account's audit chain: every write a person (the portal) or an API
client makes, `taskrouter.<resource>.<verb>`, with who made it.

The engine's services take `actor=None` when the platform itself moves a worker, task or reservation
(the routing process offering a task, a timeout, a caller hanging up, an assignment callback's
instruction): those transitions are not audited, since the workspace's event log (events.py) records
every one of them, with the resource it concerns, and they follow from writes that are audited."""

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
