"""The audit chain's hash rule, shared by the SQL append function and the Python verifier.

An entry's hash is SHA-256 over the previous entry's hash followed by the entry's canonical form:
its fields, each written as `<length>:<value>` and joined with `|`, so no choice of values can make
two different entries serialise alike. Version 1 of the form is below; the SQL append function
(compliance/migrations/0003_append_many.py) writes exactly the same string.
"""

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64


def _field(value: str) -> str:
    return f"{len(value)}:{value}"


def timestamp_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(
    *,
    account_id: str,
    seq: int,
    created_at: datetime,
    actor: str,
    action: str,
    object_sid: str,
    payload_sha256: str,
) -> str:
    parts = [account_id, str(seq), timestamp_text(created_at), actor, action, object_sid, payload_sha256]
    return "v1|" + "|".join(_field(part) for part in parts)


def entry_hash(prev_hash: str, canonical_form: str) -> str:
    return hashlib.sha256((prev_hash + canonical_form).encode()).hexdigest()


def payload_digest(payload: dict[str, Any]) -> str:
    """Only a digest of the payload enters the chain, never the content (it may hold PHI)."""
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()
