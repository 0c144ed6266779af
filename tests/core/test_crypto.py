"""Field encryption: bound to its row, rotatable."""

import base64
import io
import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.test import Client, override_settings

from core import crypto
from core.management.commands.rotate_field_keys import encrypted_columns
from core.tenancy import tenant_scope
from messaging.models import Connector
from tenants.models import Account
from tests.conftest import make_tenant
from voice.models import MediaServer, Recording


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


def test_rotate_command_reencrypts_tokens_and_api_auth_keeps_working(
    django_db_setup: None, django_db_blocker: pytest.FixtureRequest
) -> None:
    old, new, configured = _key(), _key(), list(settings.FIELD_ENCRYPTION_KEYS)
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        with override_settings(FIELD_ENCRYPTION_KEYS=[f"1:{old}"]):
            crypto._keys.cache_clear()
            tenant = make_tenant("Rotation clinic")
        with override_settings(FIELD_ENCRYPTION_KEYS=[f"2:{new}", f"1:{old}"]):
            crypto._keys.cache_clear()
            out = io.StringIO()
            call_command("rotate_field_keys", tenant.sid, stdout=out)
            assert "under key 2" in out.getvalue()
        with override_settings(FIELD_ENCRYPTION_KEYS=[f"2:{new}"]):
            crypto._keys.cache_clear()
            with tenant_scope(tenant.account.id):
                stored = Account.objects.get(id=tenant.account.id)
            assert stored.auth_token_encrypted.startswith("2$")
            assert stored.auth_token == tenant.token
            response = Client().get(f"/2010-04-01/Accounts/{tenant.sid}.json", **tenant.auth())
            assert response.status_code == 200
        with override_settings(FIELD_ENCRYPTION_KEYS=[*configured, f"2:{new}"]):
            crypto._keys.cache_clear()  # back under the configured keys, for the tests that follow
            call_command("rotate_field_keys", tenant.sid, stdout=io.StringIO())


def test_rotate_command_reencrypts_every_encrypted_column(
    django_db_setup: None, django_db_blocker: pytest.FixtureRequest
) -> None:
    """Auth tokens (both), recording keys, media-server and carrier passwords survive dropping the old key.

    The rotation runs in an admin transaction that is rolled back, so the session's other rows stay
    under the configured keys.
    """
    configured, new = list(settings.FIELD_ENCRYPTION_KEYS), _key()
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        tenant = make_tenant("Rotation hospital")
        Account.objects.using("admin").filter(id=tenant.account.id).update(
            secondary_auth_token_encrypted=crypto.encrypt(
                "second-token", aad=tenant.account._secondary_token_aad()
            )
        )
        with transaction.atomic(), tenant_scope(tenant.account.id):
            recording = Recording.objects.create(account=tenant.account)
            recording.data_key_encrypted = crypto.encrypt("data-key", aad=recording.data_key_aad())
            recording.save(update_fields=["data_key_encrypted"])
        server = MediaServer(name="rotation-asterisk", is_enabled=False)
        server.set_ari_password("ari-secret")
        server.save()
        connector = Connector(name="rotation-carrier", kind=Connector.Kind.SMPP, is_enabled=False)
        connector.set_password("bind-secret")
        connector.save()
        try:
            with transaction.atomic(using="admin"):
                with override_settings(FIELD_ENCRYPTION_KEYS=[f"rotated:{new}", *configured]):
                    crypto._keys.cache_clear()
                    out = io.StringIO()
                    call_command("rotate_field_keys", stdout=out)
                    assert "under key rotated" in out.getvalue()
                with override_settings(FIELD_ENCRYPTION_KEYS=[f"rotated:{new}"]):
                    crypto._keys.cache_clear()
                    account = Account.objects.using("admin").get(id=tenant.account.id)
                    assert (account.auth_token, account.secondary_auth_token) == (
                        tenant.token,
                        "second-token",
                    )
                    stored = Recording.objects.using("admin").get(id=recording.id)
                    key = crypto.decrypt(stored.data_key_encrypted, aad=stored.data_key_aad())
                    assert key == "data-key"
                    assert MediaServer.objects.using("admin").get(id=server.id).ari_password == "ari-secret"
                    assert Connector.objects.using("admin").get(id=connector.id).password == "bind-secret"
                transaction.set_rollback(True, using="admin")
        finally:
            MediaServer.objects.filter(id=server.id).delete()
            Connector.objects.filter(id=connector.id).delete()


def test_values_from_before_own_field_keys_are_upgraded_with_the_legacy_secret_key(
    django_db_setup: None, django_db_blocker: pytest.FixtureRequest
) -> None:
    """Older releases derived key "0" from SECRET_KEY; SWITCHBOARD_LEGACY_SECRET_KEY reads it to rotate."""
    old_secret_key = "the-key-an-older-release-ran-with-" * 2
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"switchboard-field-key").derive(
        old_secret_key.encode()
    )
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        tenant = make_tenant("Upgraded clinic")
        with override_settings(FIELD_ENCRYPTION_KEYS=[f"0:{base64.urlsafe_b64encode(derived).decode()}"]):
            crypto._keys.cache_clear()
            legacy = crypto.encrypt(tenant.token, aad=tenant.account._token_aad())
        Account.objects.using("admin").filter(id=tenant.account.id).update(auth_token_encrypted=legacy)
        crypto._keys.cache_clear()
        with pytest.raises(crypto.DecryptionError, match="SWITCHBOARD_LEGACY_SECRET_KEY"):
            Account.objects.using("admin").get(id=tenant.account.id).auth_token  # noqa: B018

        with override_settings(LEGACY_SECRET_KEY=old_secret_key):
            crypto._keys.cache_clear()
            assert crypto.current_key_version() != crypto.LEGACY_VERSION  # read only, never written
            call_command("rotate_field_keys", tenant.sid, stdout=io.StringIO())
        crypto._keys.cache_clear()
        stored = Account.objects.using("admin").get(id=tenant.account.id)
        assert crypto.is_current(stored.auth_token_encrypted) and stored.auth_token == tenant.token
        assert Client().get(f"/2010-04-01/Accounts/{tenant.sid}.json", **tenant.auth()).status_code == 200


def test_every_encrypted_column_is_in_the_rotation() -> None:
    """A `*_encrypted` column the command does not find (one declared as a plain TextField) would be
    unreadable once its old key is dropped."""
    columns = {
        (m, f.name) for m in apps.get_models() for f in m._meta.fields if f.name.endswith("_encrypted")
    }
    found = [(model, field.name) for model, field in encrypted_columns()]
    assert columns == set(found) and len(found) == len(columns)
