"""Every write to accounts, users, memberships and API keys, each with its audit entry."""

import secrets
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from compliance.services import audit_record
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.tenancy import tenant_activate, tenant_switch
from tenants.models import Account, ApiKey, Membership, Role, User, new_auth_token
from tenants.signals import account_closed


def account_create(*, friendly_name: str, actor: str, account_id: uuid.UUID | None = None) -> Account:
    """A new top-level account (a tenant signing up). Scopes the caller's transaction to it."""
    with transaction.atomic():
        account = Account(id=account_id or uuid.uuid4(), friendly_name=friendly_name[:64])
        account.set_auth_token(new_auth_token())
        tenant_activate(account.id)
        account.save(force_insert=True)
        audit_record(account_id=account.id, actor=actor, action="account.create", object_sid=account.sid)
    return account


def subaccount_create(*, parent: Account, friendly_name: str, actor: str) -> Account:
    """Subaccounts are one level deep, as in Twilio; the parent's transaction scope is kept."""
    if parent.parent_id is not None:
        raise TwilioError(ErrorCode.PERMISSION_DENIED, "Subaccounts cannot create subaccounts", 403)
    with transaction.atomic():
        account = Account(id=uuid.uuid4(), parent=parent, friendly_name=friendly_name[:64])
        account.set_auth_token(new_auth_token())
        account.save(force_insert=True)
        audit_record(account_id=parent.id, actor=actor, action="subaccount.create", object_sid=account.sid)
        with tenant_switch(account.id):
            audit_record(account_id=account.id, actor=actor, action="account.create", object_sid=account.sid)
    return account


def account_update(
    *, account: Account, principal: Account, actor: str, friendly_name: str | None, status: str | None
) -> Account:
    """Rename any account you may act on; suspend, reactivate or close only your subaccounts.

    Closing is final and releases the account's numbers in the same transaction (each release
    audited, by numbering's receiver of `tenants.signals.account_closed`), as Twilio does;
    suspending keeps them, and their inbound traffic is refused until the account is active again
    (voice.inbound.inbound_call_open, messaging.inbound.message_receive).
    The caller's transaction must be scoped to `account`.
    """
    changes: dict[str, str] = {}
    if friendly_name is not None:
        changes["friendly_name"] = friendly_name[:64]
    if status is not None and status != account.status:
        if account.parent_id != principal.id:
            raise TwilioError(
                ErrorCode.PERMISSION_DENIED, "Only the parent account can change an account's status", 403
            )
        if account.status == Account.Status.CLOSED:
            # https://www.twilio.com/docs/api/errors/21479: closing is final.
            raise TwilioError(
                ErrorCode.SUBACCOUNT_CLOSED,
                "Unable to update Status for subaccount, subaccount has been closed",
                400,
            )
        changes["status"] = status
    if not changes:
        return account
    with transaction.atomic():
        for field, value in changes.items():
            setattr(account, field, value)
        account.save(update_fields=[*changes, "date_updated"])
        audit_record(
            account_id=account.id,
            actor=actor,
            action="account.update",
            object_sid=account.sid,
            payload=changes,
        )
        # After the update, which locks the row: what receivers do (numbering releases the numbers)
        # is serialised with anything else done to the account.
        if changes.get("status") == Account.Status.CLOSED:
            account_closed.send(sender=Account, account=account, actor=actor)
    return account


def auth_token_reveal(*, account: Account, actor: str) -> str:
    """The primary auth token, for a person to read; every showing is audited."""
    with transaction.atomic():
        audit_record(
            account_id=account.id, actor=actor, action="account.auth_token.reveal", object_sid=account.sid
        )
    return account.auth_token


def auth_token_secondary_create(*, account: Account, actor: str) -> str:
    """A new secondary auth token (replacing any), which authenticates API requests alongside the
    primary until promoted or deleted; Twilio's POST /v1/AuthTokens/Secondary."""
    token = new_auth_token()
    _secondary_token_set(account=account, token=token, actor=actor, action="secondary_create")
    return token


def _secondary_token_set(*, account: Account, token: str | None, actor: str, action: str) -> None:
    with transaction.atomic():
        account.set_secondary_auth_token(token)
        account.secondary_auth_token_created_at = timezone.now() if token else None
        account.save(
            update_fields=[
                "secondary_auth_token_encrypted",
                "secondary_auth_token_created_at",
                "date_updated",
            ]
        )
        audit_record(
            account_id=account.id,
            actor=actor,
            action=f"account.auth_token.{action}",
            object_sid=account.sid,
        )


def _no_secondary_token() -> TwilioError:
    return TwilioError(ErrorCode.NOT_FOUND, "The account has no secondary auth token", 404)


def auth_token_secondary_delete(*, account: Account, actor: str) -> None:
    """Stop the secondary token authenticating; Twilio's DELETE /v1/AuthTokens/Secondary."""
    if account.secondary_auth_token is None:
        raise _no_secondary_token()
    _secondary_token_set(account=account, token=None, actor=actor, action="secondary_delete")


def auth_token_promote(*, account: Account, actor: str) -> str:
    """Make the secondary token the primary (which signs webhooks from now on); the old primary
    stops authenticating at once and there is no secondary left. Twilio's POST /v1/AuthTokens/Promote."""
    token = account.secondary_auth_token
    if token is None:
        raise _no_secondary_token()
    with transaction.atomic():
        account.set_auth_token(token)
        account.set_secondary_auth_token(None)
        account.secondary_auth_token_created_at = None
        account.save(
            update_fields=[
                "auth_token_encrypted",
                "secondary_auth_token_encrypted",
                "secondary_auth_token_created_at",
                "date_updated",
            ]
        )
        audit_record(
            account_id=account.id, actor=actor, action="account.auth_token.promote", object_sid=account.sid
        )
    return token


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret: str  # shown once, never stored


def api_key_create(*, account: Account, friendly_name: str, actor: str) -> IssuedKey:
    secret = secrets.token_urlsafe(24)
    with transaction.atomic():
        key = ApiKey.objects.create(
            account=account, friendly_name=friendly_name[:64], secret_sha256=ApiKey.hash_secret(secret)
        )
        audit_record(account_id=account.id, actor=actor, action="api_key.create", object_sid=key.sid)
    return IssuedKey(key=key, secret=secret)


def api_key_update(*, key: ApiKey, friendly_name: str, actor: str) -> ApiKey:
    with transaction.atomic():
        key.friendly_name = friendly_name[:64]
        key.save(update_fields=["friendly_name", "date_updated"])
        audit_record(account_id=key.account_id, actor=actor, action="api_key.update", object_sid=key.sid)
    return key


def api_key_delete(*, key: ApiKey, actor: str) -> None:
    with transaction.atomic():
        audit_record(account_id=key.account_id, actor=actor, action="api_key.delete", object_sid=key.sid)
        key.delete()


def user_create(*, email: str, password: str) -> User:
    return User.objects.create_user(email=email, password=password)


def membership_add(*, account: Account, user: User, role: Role, actor: str) -> Membership:
    """Adds `user` to `account`; the caller's transaction must be scoped to `account`."""
    with transaction.atomic():
        membership = Membership.objects.create(account=account, user=user, role=role)
        audit_record(
            account_id=account.id,
            actor=actor,
            action="membership.add",
            object_sid=membership.sid,
            payload={"user": user.email, "role": role},
        )
    return membership
