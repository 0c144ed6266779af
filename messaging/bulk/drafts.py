"""Bulk alerts the portal has checked and shown for confirmation but not sent: what the form gave,
kept in the cache (Redis) under an unguessable token, for the user who filled it in, in that account.

The form's recipients may be an uploaded file of 100,000 numbers, which a confirming page cannot
post again; the token stands for them. A draft lives as long as an idle session
(SESSION_COOKIE_AGE), and is not removed when sent: the confirming POST creates the bulk with the
token as its idempotency key, so a second click, or the back button and a resend, finds that bulk.
"""

import secrets
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

KEY_PREFIX = "bulk-draft:"


@dataclass(frozen=True)
class BulkDraft:
    account_id: uuid.UUID
    user_id: int
    from_number: str
    body: str
    message_class: str
    threat_basis: str
    recipients: list[str]  # as given


def bulk_draft_save(draft: BulkDraft) -> str:
    """Keep `draft`; returns its token."""
    token = secrets.token_urlsafe(24)
    cache.set(KEY_PREFIX + token, draft, timeout=settings.SESSION_COOKIE_AGE)
    return token


def bulk_draft_get(*, token: str, account_id: uuid.UUID, user_id: int) -> BulkDraft | None:
    """The draft saved under `token` by this user in this account; None once it expired, or when it
    is someone else's."""
    draft = cache.get(KEY_PREFIX + token)
    if not isinstance(draft, BulkDraft) or draft.account_id != account_id or draft.user_id != user_id:
        return None
    return draft
