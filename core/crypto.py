"""Field encryption at rest: AES-256-GCM under versioned keys, bound to its row by associated data.

A stored value reads `<key version>$<base64(nonce ‖ ciphertext ‖ tag)>`. The associated data names
the tenant, table, column and row, so a ciphertext copied into another row fails to decrypt. The first
configured key encrypts; every configured key decrypts, which is what makes rotation possible.
"""

import base64
import os
from functools import cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Values written before field keys were their own (issue 9) carry this version.
LEGACY_VERSION = "0"


class DecryptionError(Exception):
    pass


@cache
def _keys() -> tuple[tuple[str, bytes], ...]:
    """(version, key) pairs, newest first.

    The keys are random and their own (config/secrets.py), never derived from SECRET_KEY, so rotating
    that key leaves every stored value readable.
    """
    configured = []
    for item in settings.FIELD_ENCRYPTION_KEYS:
        version, _, encoded = item.partition(":")
        key = base64.urlsafe_b64decode(encoded)
        if len(key) != 32:
            raise ValueError(f"field encryption key {version} must be 32 bytes")
        configured.append((version, key))
    if not configured:
        raise ImproperlyConfigured("no field encryption key: see docs/setup.md, 'Secrets'")
    if settings.LEGACY_SECRET_KEY:
        configured.append((LEGACY_VERSION, _legacy_key(settings.LEGACY_SECRET_KEY)))
    return tuple(configured)


def _legacy_key(secret_key: str) -> bytes:
    """The key older releases derived from SECRET_KEY, kept only to read and re-encrypt their values once."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"switchboard-field-key").derive(
        secret_key.encode()
    )


def current_key_version() -> str:
    return _keys()[0][0]


def encrypt(plaintext: str, *, aad: str) -> str:
    version, key = _keys()[0]
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), f"{aad}|{version}".encode())
    return f"{version}${base64.b64encode(nonce + sealed).decode()}"


def decrypt(token: str, *, aad: str) -> str:
    version, _, encoded = token.partition("$")
    key = dict(_keys()).get(version)
    if key is None and version == LEGACY_VERSION:
        raise DecryptionError(
            "encrypted under a key derived from an old SECRET_KEY: run `manage.py rotate_field_keys` once "
            "with SWITCHBOARD_LEGACY_SECRET_KEY set to it (docs/setup.md, 'Secrets and how to rotate them')"
        )
    if key is None:
        raise DecryptionError(f"no key with version {version!r}")
    raw = base64.b64decode(encoded)
    try:
        return AESGCM(key).decrypt(raw[:12], raw[12:], f"{aad}|{version}".encode()).decode()
    except Exception as exc:  # cryptography raises InvalidTag with no message
        raise DecryptionError(
            "ciphertext does not match its key or row (a database set up by another checkout, with "
            "secrets of its own? docs/setup.md, 'Secrets and how to rotate them')"
        ) from exc


def is_current(token: str) -> bool:
    return token.partition("$")[0] == current_key_version()
