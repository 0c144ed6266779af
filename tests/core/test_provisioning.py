"""Provisioning sets each role's password from the platform's secrets, so a rotated one is applied."""

import base64
import hashlib
import hmac

import psycopg
import pytest
from django.conf import settings


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
