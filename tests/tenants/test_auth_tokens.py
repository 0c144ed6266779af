"""Auth token rotation with Twilio's secondary token (accounts.twilio.com's /v1/AuthTokens/Secondary
and /v1/AuthTokens/Promote), through the API and the portal."""

import base64
import io
import os

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.test import Client, override_settings

from compliance.models import AuditEntry
from core import crypto
from core.tenancy import tenant_activate, tenant_scope
from tenants.models import Account, Role
from tenants.services import api_key_create, auth_token_secondary_create
from tests.conftest import Tenant, make_tenant
from tests.tenants.test_signin import _enrolled_owner, _member, _sign_in

SECONDARY = "/accounts/v1/AuthTokens/Secondary"
PROMOTE = "/accounts/v1/AuthTokens/Promote"


def _basic(user: str, password: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _fetch_status(tenant: Tenant, token: str) -> int:
    return Client().get(f"/2010-04-01/Accounts/{tenant.sid}.json", **_basic(tenant.sid, token)).status_code


def _actions(tenant: Tenant) -> list[str]:
    tenant_activate(tenant.account.id)
    return list(AuditEntry.objects.order_by("seq").values_list("action", flat=True))


def test_secondary_token_authenticates_until_promoted_then_the_old_one_stops(tenant_a: Tenant) -> None:
    created = Client().post(SECONDARY, **tenant_a.auth())
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"account_sid", "date_created", "date_updated", "secondary_auth_token", "url"}
    assert body["account_sid"] == tenant_a.sid and body["url"].endswith(SECONDARY)
    secondary = body["secondary_auth_token"]
    assert len(secondary) == 32 and secondary != tenant_a.token
    assert _fetch_status(tenant_a, tenant_a.token) == 200
    assert _fetch_status(tenant_a, secondary) == 200

    promoted = Client().post(PROMOTE, **_basic(tenant_a.sid, secondary))
    assert promoted.status_code == 200
    assert promoted.json()["auth_token"] == secondary and promoted.json()["url"].endswith(PROMOTE)
    assert _fetch_status(tenant_a, tenant_a.token) == 401
    assert _fetch_status(tenant_a, secondary) == 200
    tenant_activate(tenant_a.account.id)
    account = Account.objects.get(id=tenant_a.account.id)
    assert account.auth_token == secondary  # what signs webhooks from now on
    assert account.secondary_auth_token is None
    assert _actions(tenant_a)[-2:] == ["account.auth_token.secondary_create", "account.auth_token.promote"]


def test_a_deleted_secondary_token_stops_authenticating(tenant_a: Tenant) -> None:
    secondary = Client().post(SECONDARY, **tenant_a.auth()).json()["secondary_auth_token"]
    assert Client().delete(SECONDARY, **tenant_a.auth()).status_code == 204
    assert _fetch_status(tenant_a, secondary) == 401
    assert _fetch_status(tenant_a, tenant_a.token) == 200
    assert _actions(tenant_a)[-1] == "account.auth_token.secondary_delete"


def test_promote_or_delete_without_a_secondary_token_is_20404(tenant_a: Tenant) -> None:
    for response in (
        Client().post(PROMOTE, **tenant_a.auth()),
        Client().delete(SECONDARY, **tenant_a.auth()),
    ):
        assert response.status_code == 404 and response.json()["code"] == 20404
    assert _fetch_status(tenant_a, tenant_a.token) == 200


def test_api_keys_cannot_rotate_the_auth_token(tenant_a: Tenant) -> None:
    tenant_activate(tenant_a.account.id)
    issued = api_key_create(account=tenant_a.account, friendly_name="ci", actor="test")
    response = Client().post(SECONDARY, **_basic(issued.key.sid, issued.secret))
    # A key needs the account in the URL; these resources have none, so it authenticates nothing here.
    assert response.status_code in (401, 403) and response.json()["code"] == 20003


def test_the_secondary_token_is_another_tenants_nothing(tenant_a: Tenant, tenant_b: Tenant) -> None:
    secondary = Client().post(SECONDARY, **tenant_a.auth()).json()["secondary_auth_token"]
    response = Client().get(f"/2010-04-01/Accounts/{tenant_b.sid}.json", **_basic(tenant_b.sid, secondary))
    assert response.status_code == 401


# The portal ----------------------------------------------------------------------------------------


def test_owner_reveals_and_rotates_the_token_in_the_portal(tenant_a: Tenant) -> None:
    client, _, _ = _enrolled_owner(tenant_a)
    page = client.get("/account/auth-token/").content.decode()
    assert tenant_a.token not in page and "Show the tokens" in page
    revealed = client.post(
        "/account/auth-token/", {"action": "reveal"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert revealed.lstrip().startswith('<div id="auth-token">') and tenant_a.token in revealed
    assert _actions(tenant_a)[-1] == "account.auth_token.reveal"

    created = client.post("/account/auth-token/", {"action": "secondary_create"})
    secondary = created.context["shown"]["secondary"]
    assert secondary in created.content.decode()
    assert _fetch_status(tenant_a, secondary) == 200
    asked = client.post("/account/auth-token/", {"action": "promote"}).content.decode()
    assert "stops working at once" in asked and 'name="confirmed" value="yes"' in asked
    assert _fetch_status(tenant_a, tenant_a.token) == 200  # nothing happens before the confirmation
    client.post("/account/auth-token/", {"action": "promote", "confirmed": "yes"})
    assert _fetch_status(tenant_a, tenant_a.token) == 401
    assert _fetch_status(tenant_a, secondary) == 200


def test_deleting_the_secondary_token_in_the_portal_asks_first(tenant_a: Tenant) -> None:
    client, _, _ = _enrolled_owner(tenant_a)
    secondary = client.post("/account/auth-token/", {"action": "secondary_create"}).context["shown"][
        "secondary"
    ]
    asked = client.post("/account/auth-token/", {"action": "secondary_delete"})
    assert asked.context["confirm"] == "secondary_delete" and b"Yes, delete it" in asked.content
    assert _fetch_status(tenant_a, secondary) == 200
    client.post("/account/auth-token/", {"action": "secondary_delete", "confirmed": "yes"})
    assert _fetch_status(tenant_a, secondary) == 401


def test_only_owners_and_admins_see_the_token_page(tenant_a: Tenant) -> None:
    _member(tenant_a, "dev@a.example", Role.DEVELOPER)
    client = Client()
    _sign_in(client, "dev@a.example", "pw-123456789")
    assert client.get("/account/auth-token/").status_code == 403
    assert client.post("/account/auth-token/", {"action": "reveal"}).status_code == 403


def test_rotate_field_keys_reencrypts_the_secondary_token(
    django_db_setup: None, django_db_blocker: pytest.FixtureRequest
) -> None:
    """Dropping the old field key must not lose a secondary token mid-rotation (the admin transaction
    is rolled back, so the session's rows stay under the configured keys)."""
    configured, new = list(settings.FIELD_ENCRYPTION_KEYS), base64.urlsafe_b64encode(os.urandom(32)).decode()
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        tenant = make_tenant("Rotation surgery")
        with tenant_scope(tenant.account.id):
            secondary = auth_token_secondary_create(account=tenant.account, actor="test")
        with transaction.atomic(using="admin"):
            with override_settings(FIELD_ENCRYPTION_KEYS=[f"rotated:{new}", *configured]):
                crypto._keys.cache_clear()
                call_command("rotate_field_keys", tenant.sid, stdout=io.StringIO())
            with override_settings(FIELD_ENCRYPTION_KEYS=[f"rotated:{new}"]):
                crypto._keys.cache_clear()
                assert (
                    Account.objects.using("admin").get(id=tenant.account.id).secondary_auth_token == secondary
                )
            transaction.set_rollback(True, using="admin")
    crypto._keys.cache_clear()
