"""Inviting people into an account (services): the invitation with its role, the one-time link sent
by e-mail, joining through it (as a new user or one who already signs in), and revoking it."""

import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from compliance.services import audit_record
from core.sids import sid_to_uuid
from core.tenancy import tenant_activate
from tenants.models import Account, Invitation, Membership, Role, User
from tenants.roles import roles_grantable_by
from tenants.services import membership_add

INVITATION_LIFETIME = timedelta(days=7)


class InvitationRefused(Exception):
    """Why an invitation cannot be made or used, in words for the person trying."""


def invitation_url(*, account: Account, token: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}/invitations/{account.sid}/{token}/"


def invitation_create(
    *, account: Account, inviter: User, inviter_role: str, email: str, role: Role, actor: str
) -> Invitation:
    """Invite `email` into `account` as `role`, which the inviter's own role must be allowed to grant;
    the link goes out by e-mail once the transaction commits. The caller's transaction must be
    scoped to `account`."""
    email = email.strip().lower()
    if role not in roles_grantable_by(inviter_role):
        raise InvitationRefused(f"Your role cannot invite someone as {role}.")
    if Membership.objects.filter(account=account, user__email=email).exists():
        raise InvitationRefused(f"{email} is already a member of this account.")
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = Invitation.objects.create(
            account=account,
            email=email,
            role=role,
            token_sha256=Invitation.hash_token(token),
            invited_by=inviter,
            expires_at=timezone.now() + INVITATION_LIFETIME,
        )
        audit_record(
            account_id=account.id,
            actor=actor,
            action="invitation.create",
            object_sid=invitation.sid,
            payload={"email": email, "role": role},
        )
        link, name = invitation_url(account=account, token=token), account.friendly_name
        transaction.on_commit(
            lambda: send_mail(
                subject=f"You are invited to {name} on Switchboard",
                message=(
                    f"{inviter.email} invited you to join {name} on Switchboard as {role}.\n\n"
                    f"Accept within {INVITATION_LIFETIME.days} days (the link works once):\n{link}\n"
                ),
                from_email=None,
                recipient_list=[email],
            )
        )
    return invitation


def invitation_get(*, account_sid: str, token: str, user_id: int | None) -> Invitation | None:
    """The usable invitation this link names, scoping the caller's transaction to its account (and
    the signed-in user, if any): the token is the capability; whoever holds the link may see the
    account's name and accept."""
    account_id: uuid.UUID | None = sid_to_uuid(account_sid, "AC")
    if account_id is None:
        return None
    tenant_activate(account_id, user_id=user_id)
    return (
        Invitation.objects.select_related("account")
        .filter(
            account_id=account_id,
            token_sha256=Invitation.hash_token(token),
            accepted_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )


def invitation_accept(*, invitation: Invitation, user: User | None, password: str | None) -> User:
    """Join the invitation's account as its role: `user` if the invitee already signs in (as the
    invited e-mail), else a new user with `password`. Used once; audited in the account's chain."""
    if user is not None and user.email != invitation.email:
        raise InvitationRefused(f"This invitation is for {invitation.email}; sign in as that address.")
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().get(id=invitation.id)
        if locked.accepted_at is not None:
            raise InvitationRefused("This invitation has already been used.")
        if user is None:
            if User.objects.filter(email=invitation.email).exists():
                raise InvitationRefused(f"{invitation.email} already signs in: sign in first, then accept.")
            user = User.objects.create_user(email=invitation.email, password=password)
        if not Membership.objects.filter(account=invitation.account, user=user).exists():
            membership_add(
                account=invitation.account, user=user, role=Role(invitation.role), actor=f"user:{user.email}"
            )
        locked.accepted_at = timezone.now()
        locked.save(update_fields=["accepted_at", "date_updated"])
        audit_record(
            account_id=invitation.account_id,
            actor=f"user:{user.email}",
            action="invitation.accept",
            object_sid=invitation.sid,
        )
    return user


def invitation_revoke(*, invitation: Invitation, actor: str) -> None:
    with transaction.atomic():
        audit_record(
            account_id=invitation.account_id,
            actor=actor,
            action="invitation.revoke",
            object_sid=invitation.sid,
        )
        invitation.delete()
