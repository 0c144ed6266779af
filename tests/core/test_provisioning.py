"""Provisioning sets each role's password from the platform's secrets, so a rotated one is applied."""

import base64
import hashlib
import hmac
import os

import psycopg
import pytest
from django.conf import settings
from django.test import override_settings

from core import crypto
from core.provisioning import ForeignSecrets, field_keys_check, field_keys_seal


def _matches(verifier: str, password: str) -> bool:
    """Whether a PostgreSQL SCRAM-SHA-256 verifier (RFC 5802 StoredKey) was made from `password`."""
    _, rest = verifier.split("$", 1)
    params, keys = rest.split("$")
    iterations, salt = params.split(":")
    stored_key = keys.split(":")[0]
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return hmac.compare_digest(hashlib.sha256(client_key).digest(), base64.b64decode(stored_key))


def test_provision_gives_each_role_its_own_password_from_the_secrets(django_db_setup: None) -> None:
    roles = settings.DATABASE_ROLES
    with psycopg.connect(roles.url_for(None)) as conn:
        rows = dict(
            conn.execute(
                "SELECT rolname, rolpassword FROM pg_authid WHERE rolname IN (%s, %s)",
                [roles.owner, roles.app],
            ).fetchall()
        )
    if not all(str(rows[role]).startswith("SCRAM-SHA-256$") for role in rows):
        pytest.skip("the server stores passwords as md5, not SCRAM")
    assert _matches(rows[roles.owner], settings.SECRETS.owner_password)
    assert _matches(rows[roles.app], settings.SECRETS.app_password)
    assert not _matches(rows[roles.app], settings.SECRETS.owner_password)


def test_a_database_set_up_with_other_field_keys_is_refused_clearly(django_db_setup: None) -> None:
    """Another checkout's database (its own secrets.json) stops provisioning with what to do, rather
    than a DecryptionError in the first process that reads an auth token."""
    field_keys_seal()  # as provisioning with this checkout's keys leaves it
    other = base64.urlsafe_b64encode(os.urandom(32)).decode()
    try:
        with override_settings(FIELD_ENCRYPTION_KEYS=[f"1:{other}"], LEGACY_SECRET_KEY=""):
            crypto._keys.cache_clear()
            with pytest.raises(ForeignSecrets, match="set up with other secrets"):
                field_keys_check()
    finally:
        crypto._keys.cache_clear()
    field_keys_check()  # this checkout's own keys read it again
