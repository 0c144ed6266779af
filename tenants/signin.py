"""Portal sign-in: the password step behind lockouts, the second factor (TOTP or a one-time recovery
code), enrolment and recovery codes, and password resets by e-mail; every step, and every failure,
audited.

Failures are counted per e-mail address and per client address (core/attempts.py), whether or not
the e-mail belongs to anyone, and the answer is the same either way: nothing here tells a stranger
which addresses have accounts. A failure for a known user goes to the chains of the accounts that
user belongs to, with the client's address as the actor; the lockout bounds how many an attacker
can add (the free attempts, then one per lockout). A failure for an unknown e-mail belongs to no
tenant and goes to the server log.
"""

import base64
import hashlib
import logging
import math
import secrets
from collections.abc import Callable

from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from compliance.services import audit_record
from core.attempts import AttemptPolicy, attempt_key, attempts_check, attempts_clear, attempts_count
from core.tenancy import tenant_activate, tenant_switch
from tenants.models import Membership, User
from tenants.sockets import user_sockets_close

log = logging.getLogger(__name__)

# One person's password: a few tries, then a minute's wait that doubles with each further failure.
PER_EMAIL = AttemptPolicy(free=5, base_s=60, max_s=3600, window_s=24 * 3600)
# One client address may be a shared office NAT, so it gets more; past that it is treated the same.
PER_ADDRESS = AttemptPolicy(free=20, base_s=60, max_s=3600, window_s=3600)
RECOVERY_CODES = 10
# Reset e-mails: a few a day per address; past that, requests are answered the same but send nothing.
RESETS_PER_EMAIL = AttemptPolicy(free=3, base_s=900, max_s=24 * 3600, window_s=24 * 3600)
RESETS_PER_ADDRESS = AttemptPolicy(free=10, base_s=900, max_s=24 * 3600, window_s=24 * 3600)


class SigninRefused(Exception):
    """Wrong credentials, or (`wait_s` > 0) too many recent failures: try again after `wait_s`."""

    def __init__(self, wait_s: float = 0.0) -> None:
        super().__init__(f"sign-in refused (wait {wait_s:.0f} s)")
        self.wait_s = wait_s

    @property
    def wait_minutes(self) -> int:
        return max(1, math.ceil(self.wait_s / 60))


def audit_user_event(user: User, action: str, *, actor: str | None = None) -> None:
    """Sign-in events go to the chain of every account the user belongs to."""
    tenant_activate(None, user_id=user.pk)
    for account_id in Membership.objects.filter(user=user).values_list("account_id", flat=True):
        with tenant_switch(account_id):
            audit_record(
                account_id=account_id,
                actor=actor or f"user:{user.email}",
                action=action,
                object_sid=f"user:{user.pk}",
            )


def _signin_keys(email: str, address: str) -> tuple[str, str]:
    return attempt_key("signin-email", email), attempt_key("signin-address", address)


def signin_password(*, email: str, password: str, address: str) -> User:
    """The user whose password this is, or SigninRefused; refused outright while locked, so the right
    password does not help an attacker then. A locked e-mail refuses only addresses that failed
    recently (an address past its own allowance is refused for every e-mail): otherwise anyone who
    knows an owner's e-mail could keep the owner out by failing for it once an hour."""
    email = email.strip().lower()
    email_key, address_key = _signin_keys(email, address)
    by_email, by_address = attempts_check([email_key, address_key])
    wait_s = max(by_address.wait_s, by_email.wait_s if by_address.failures else 0.0)
    if wait_s:
        log.warning("sign-in refused while locked out: %s from %s", email, address)
        raise SigninRefused(wait_s)
    user = authenticate(None, email=email, password=password)
    if isinstance(user, User):
        # Not the address's count: an attacker could clear it with an account of their own.
        attempts_clear([email_key])
        with transaction.atomic():
            audit_user_event(user, "user.login.password")
        return user
    email_lock_s, address_lock_s = attempts_count([(email_key, PER_EMAIL), (address_key, PER_ADDRESS)])
    known = User.objects.filter(email=email).first()
    log.warning(
        "sign-in failed for %s e-mail %s from %s", "a known" if known else "an unknown", email, address
    )
    if known is not None:
        with transaction.atomic():
            audit_user_event(known, "user.login.failed", actor=f"address:{address}")
            if email_lock_s:
                audit_user_event(known, "user.login.locked", actor=f"address:{address}")
    raise SigninRefused(max(email_lock_s, address_lock_s))


def _throttled_s(device: Device) -> float:
    allowed, details = device.verify_is_allowed()  # type: ignore[attr-defined]
    if allowed:
        return 0.0
    locked_until = (details or {}).get("locked_until")
    return max(1.0, (locked_until - timezone.now()).total_seconds()) if locked_until else 1.0


def signin_second_factor(*, user: User, code: str, address: str) -> Device:
    """The device that accepts `code`: a 6-digit TOTP code, or one of the user's recovery codes,
    which is then used up. django-otp throttles each device after a wrong code; a code tried while
    throttled is refused unchecked and (like a refused password) only logged."""
    code = code.strip().replace(" ", "").replace("-", "").lower()
    is_totp = code.isdigit() and len(code) == 6
    model: type[Device] = TOTPDevice if is_totp else StaticDevice
    device = model.objects.filter(user=user, confirmed=True).first()  # type: ignore[attr-defined]
    if device is None:
        raise SigninRefused()
    wait_s = _throttled_s(device)
    if wait_s:
        log.warning("second factor refused while throttled: %s from %s", user.email, address)
        raise SigninRefused(wait_s)
    with transaction.atomic():
        if device.verify_token(code if is_totp else recovery_code_digest(code)):
            if is_totp:
                audit_user_event(user, "user.login.two_factor")
            else:
                audit_user_event(user, "user.login.recovery_code")
            return device
        audit_user_event(user, "user.login.two_factor_failed", actor=f"address:{address}")
    raise SigninRefused()


def recovery_code_digest(code: str) -> str:
    """What is stored for a recovery code (spaces, dashes and case ignored): 64 bits of its SHA-256,
    as much as otp_static's 16-character column holds. The codes carry 80 random bits, so a copy of
    the database does not give them away."""
    normalized = code.strip().replace(" ", "").replace("-", "").lower()
    return hashlib.sha256(normalized.encode()).hexdigest()[:16]


def _recovery_code() -> str:
    raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()  # 16 characters, 80 bits
    return "-".join(raw[start : start + 4] for start in range(0, len(raw), 4))


def recovery_codes_issue(*, user: User) -> list[str]:
    """New one-time recovery codes for `user`, replacing any left; shown once, each usable once."""
    codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
    with transaction.atomic():
        device, _ = StaticDevice.objects.get_or_create(
            user=user, defaults={"name": "Recovery codes", "confirmed": True}
        )
        device.token_set.all().delete()
        StaticToken.objects.bulk_create(
            StaticToken(device=device, token=recovery_code_digest(code)) for code in codes
        )
        audit_user_event(user, "user.recovery_codes.issue")
    return codes


def recovery_codes_left(*, user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def totp_pending(*, user: User) -> TOTPDevice:
    """The authenticator the user is enrolling: made on their first visit to the setup page, the same
    one (and secret) on the next, until `totp_enrol` confirms it."""
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, confirmed=False, defaults={"name": "Authenticator app"}
    )
    return device


def totp_enrol(*, user: User, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm a new authenticator with one of its codes; the first recovery codes if it is right."""
    if _throttled_s(device):
        return None
    if not device.verify_token(code):
        with transaction.atomic():
            audit_user_event(user, "user.two_factor.enable_failed")
        return None
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit_user_event(user, "user.two_factor.enable")
        return recovery_codes_issue(user=user)


def password_reset_request(*, email: str, address: str, send: Callable[[], None]) -> None:
    """`send` the reset e-mail (Django's PasswordResetForm, which writes only to an active user with
    a password) unless this e-mail or address asked too often. The caller answers the same whatever
    happened, so nobody learns whether the address has an account."""
    email = email.strip().lower()
    keys = [attempt_key("reset-email", email), attempt_key("reset-address", address)]
    if any(state.is_locked for state in attempts_check(keys)):
        log.warning("password reset for %s from %s not sent: too many requests", email, address)
        return
    attempts_count([(keys[0], RESETS_PER_EMAIL), (keys[1], RESETS_PER_ADDRESS)])
    known = User.objects.filter(email=email, is_active=True).first()
    if known is None:
        log.warning("password reset asked for an unknown e-mail %s from %s", email, address)
        return
    with transaction.atomic():
        audit_user_event(known, "user.password.reset_request", actor=f"address:{address}")
        transaction.on_commit(send)


def password_reset_complete(*, user: User, address: str) -> None:
    """Audit a password set through a reset link; the e-mail's sign-in lockout ends with it, and so
    do the portal sockets of the user's sessions (the sessions themselves end with the old password)."""
    with transaction.atomic():
        audit_user_event(user, "user.password.reset", actor=f"address:{address}")
        user_sockets_close(user.pk)
    attempts_clear([attempt_key("signin-email", user.email)])
