"""Field encryption: bound to its row, rotatable."""

import base64
import os

import pytest
from django.test import override_settings

from core import crypto


@pytest.fixture(autouse=True)
def fresh_keys() -> None:
    crypto._keys.cache_clear()
    yield
    crypto._keys.cache_clear()


def _key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def test_round_trip_and_ciphertext_differs_each_time() -> None:
    first = crypto.encrypt("secret-token", aad="acct|t|c|1")
    assert crypto.decrypt(first, aad="acct|t|c|1") == "secret-token"
    assert crypto.encrypt("secret-token", aad="acct|t|c|1") != first
    assert "secret-token" not in first


def test_ciphertext_copied_to_another_row_does_not_decrypt() -> None:
    token = crypto.encrypt("secret-token", aad="tenantA|tenants_account|auth_token|A")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token, aad="tenantB|tenants_account|auth_token|B")


def test_rotation_keeps_old_values_readable_and_encrypts_under_the_new_key() -> None:
    old, new = _key(), _key()
    with override_settings(FIELD_ENCRYPTION_KEYS=[f"1:{old}"]):
        crypto._keys.cache_clear()
        token = crypto.encrypt("v", aad="x")
    with override_settings(FIELD_ENCRYPTION_KEYS=[f"2:{new}", f"1:{old}"]):
        crypto._keys.cache_clear()
        assert crypto.decrypt(token, aad="x") == "v"
        assert not crypto.is_current(token)
        rotated = crypto.encrypt(crypto.decrypt(token, aad="x"), aad="x")
        assert rotated.startswith("2$") and crypto.is_current(rotated)
    with override_settings(FIELD_ENCRYPTION_KEYS=[f"2:{new}"]):
        crypto._keys.cache_clear()
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt(token, aad="x")
