"""Accounts (tenants and their subaccounts), portal users, memberships with roles, and API keys."""

import hashlib
import secrets
from typing import Any

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models

from core import crypto
from core.encrypted import EncryptedTextField
from core.models import TenantModel
from core.sids import SidModel


class Account(SidModel):
    """A tenant. The account's own id is its tenant id, so RLS compares `id` here."""

    SID_PREFIX = "AC"

    class Status(models.TextChoices):
        ACTIVE = "active"
        SUSPENDED = "suspended"
        CLOSED = "closed"

    class Type(models.TextChoices):
        TRIAL = "Trial"
        FULL = "Full"

    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="subaccounts"
    )
    friendly_name = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    type = models.CharField(max_length=8, choices=Type.choices, default=Type.FULL)
    auth_token_encrypted = EncryptedTextField(aad=lambda account: account._token_aad())
    # Twilio's secondary auth token: authenticates API requests alongside the primary until it is
    # promoted (becoming the primary) or deleted; webhooks are signed with the primary only.
    secondary_auth_token_encrypted = EncryptedTextField(
        blank=True, default="", aad=lambda account: account._secondary_token_aad()
    )
    secondary_auth_token_created_at = models.DateTimeField(null=True, blank=True)
    date_created = models.DateTimeField(auto_now_add=True)
    date_updated = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["parent", "date_created"])]

    def __str__(self) -> str:
        return f"{self.friendly_name} ({self.sid})"

    def _token_aad(self) -> str:
        return f"{self.id}|tenants_account|auth_token|{self.id}"

    def set_auth_token(self, token: str) -> None:
        self.auth_token_encrypted = crypto.encrypt(token, aad=self._token_aad())

    @property
    def auth_token(self) -> str:
        """Decrypted just in time: the token signs webhooks, so it must be recoverable."""
        return crypto.decrypt(self.auth_token_encrypted, aad=self._token_aad())

    def _secondary_token_aad(self) -> str:
        return f"{self.id}|tenants_account|secondary_auth_token|{self.id}"

    def set_secondary_auth_token(self, token: str | None) -> None:
        self.secondary_auth_token_encrypted = (
            crypto.encrypt(token, aad=self._secondary_token_aad()) if token else ""
        )

    @property
    def secondary_auth_token(self) -> str | None:
        if not self.secondary_auth_token_encrypted:
            return None
        return crypto.decrypt(self.secondary_auth_token_encrypted, aad=self._secondary_token_aad())

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


def new_auth_token() -> str:
    return secrets.token_hex(16)


class EmailUserManager(BaseUserManager["User"]):
    def create_user(self, email: str, password: str | None = None, **extra: Any) -> "User":
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> "User":
        return self.create_user(email, password, is_staff=True, is_superuser=True, **extra)


class User(AbstractUser):
    """A person who signs in to the portal; global, because one person may work in several accounts."""

    username = None  # type: ignore[assignment]
    email = models.EmailField(unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []  # type: ignore[misc]

    objects = EmailUserManager()  # type: ignore[misc,assignment]

    def __str__(self) -> str:
        return self.email


class Role(models.TextChoices):
    OWNER = "owner"
    ADMIN = "admin"
    DEVELOPER = "developer"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    AUDITOR = "auditor"


class Membership(TenantModel):
    SID_PREFIX = "US"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "user"], name="membership_unique_user")]


class ApiKey(TenantModel):
    """An API key; only the SHA-256 of its high-entropy secret is kept."""

    SID_PREFIX = "SK"

    friendly_name = models.CharField(max_length=64, blank=True)
    secret_sha256 = models.CharField(max_length=64)

    class Meta:
        indexes = [models.Index(fields=["account", "date_created"])]

    @staticmethod
    def hash_secret(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    def check_secret(self, secret: str) -> bool:
        return secrets.compare_digest(self.secret_sha256, self.hash_secret(secret))


class ApiKeyRoute(models.Model):
    """Which account an API key belongs to, for the product APIs whose paths name none
    (`/taskrouter/v1/…`): ids only, kept by a trigger on the keys table, read-only to the app (like
    numbering's route table, it is read before a tenant is known). The secret is still checked
    under the account's row-level security."""

    key_id = models.UUIDField(primary_key=True)
    account_id = models.UUIDField()

    def __str__(self) -> str:
        return f"{self.key_id} -> {self.account_id}"


class Invitation(TenantModel):
    """An e-mail invited into an account with a role. The link's token is kept as SHA-256 only; the
    invitation works once (`accepted_at`) and until `expires_at`."""

    SID_PREFIX = "IN"

    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices)
    token_sha256 = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "date_created"])]

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()
