"""Credentials, API keys, account status and subaccounts on the Accounts and Keys resources."""

import base64

import pytest
from django.db import connection
from django.test import Client, override_settings

from core.tenancy import tenant_activate
from tenants.models import Account, ApiKey
from tests.conftest import Tenant, TwilioClient


def _basic(user: str, password: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_AUTHORIZATION": "Bearer abc"},
        {"HTTP_AUTHORIZATION": "Basic !!!not-base64"},
        _basic("ACnot-a-sid", "x"),
    ],
)
def test_missing_or_malformed_credentials_get_20003(tenant_a: Tenant, headers: dict[str, str]) -> None:
    response = Client().get(f"/2010-04-01/Accounts/{tenant_a.sid}.json", **headers)
    assert response.status_code == 401
    assert response.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    assert response["WWW-Authenticate"].startswith("Basic")


def test_wrong_token_is_refused(tenant_a: Tenant) -> None:
    response = Client().get(f"/2010-04-01/Accounts/{tenant_a.sid}.json", **_basic(tenant_a.sid, "0" * 32))
    assert response.status_code == 401


def test_auth_token_is_encrypted_at_rest(tenant_a: Tenant) -> None:
    tenant_activate(tenant_a.account.id)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT auth_token_encrypted FROM tenants_account WHERE id = %s", [tenant_a.account.id]
        )
        stored = cursor.fetchone()[0]
    assert tenant_a.token not in stored
    assert Account.objects.get(id=tenant_a.account.id).auth_token == tenant_a.token


def test_api_key_secret_is_shown_once_and_stored_hashed(api_a: TwilioClient) -> None:
    created = api_a.post(api_a.url("Keys.json"), {"FriendlyName": "ci"})
    assert created.status_code == 201
    key = created.json()
    assert key["sid"].startswith("SK") and key["secret"]
    stored = ApiKey.objects.get(id=key["sid"][2:])
    assert stored.secret_sha256 != key["secret"] and key["secret"] not in stored.secret_sha256
    fetched = api_a.get(api_a.url(f"Keys/{key['sid']}.json")).json()
    assert "secret" not in fetched

    with_key = Client()
    numbers = f"/2010-04-01/Accounts/{api_a.tenant.sid}/IncomingPhoneNumbers.json"
    assert with_key.get(numbers, **_basic(key["sid"], key["secret"])).status_code == 200
    assert with_key.get(numbers, **_basic(key["sid"], "wrong")).status_code == 401
    # Like Twilio's standard keys: no managing accounts or keys with an API key.
    denied = with_key.get(
        f"/2010-04-01/Accounts/{api_a.tenant.sid}/Keys.json", **_basic(key["sid"], key["secret"])
    )
    assert denied.status_code == 403

    assert api_a.delete(api_a.url(f"Keys/{key['sid']}.json")).status_code == 204
    assert with_key.get(numbers, **_basic(key["sid"], key["secret"])).status_code == 401


def test_api_key_does_not_work_on_another_account(api_a: TwilioClient, tenant_b: Tenant) -> None:
    key = api_a.post(api_a.url("Keys.json")).json()
    response = Client().get(
        f"/2010-04-01/Accounts/{tenant_b.sid}/IncomingPhoneNumbers.json", **_basic(key["sid"], key["secret"])
    )
    assert response.status_code == 401


def test_subaccount_lifecycle_suspend_and_reactivate(api_a: TwilioClient) -> None:
    created = api_a.post("/2010-04-01/Accounts.json", {"FriendlyName": "Branch office"})
    assert created.status_code == 201
    sub = created.json()
    assert sub["owner_account_sid"] == api_a.tenant.sid
    assert sub["status"] == "active"
    listed = api_a.get("/2010-04-01/Accounts.json").json()["accounts"]
    assert {a["sid"] for a in listed} == {api_a.tenant.sid, sub["sid"]}

    sub_client = Client()
    sub_numbers = f"/2010-04-01/Accounts/{sub['sid']}/IncomingPhoneNumbers.json"
    assert sub_client.get(sub_numbers, **_basic(sub["sid"], sub["auth_token"])).status_code == 200

    suspended = api_a.post(f"/2010-04-01/Accounts/{sub['sid']}.json", {"Status": "suspended"})
    assert suspended.json()["status"] == "suspended"
    refused = sub_client.get(sub_numbers, **_basic(sub["sid"], sub["auth_token"]))
    assert refused.status_code == 403
    assert refused.json()["code"] == 20005
    assert api_a.get(sub_numbers).json()["code"] == 20005

    assert (
        api_a.post(f"/2010-04-01/Accounts/{sub['sid']}.json", {"Status": "active"}).json()["status"]
        == "active"
    )
    assert sub_client.get(sub_numbers, **_basic(sub["sid"], sub["auth_token"])).status_code == 200

    api_a.post(f"/2010-04-01/Accounts/{sub['sid']}.json", {"Status": "closed"})
    assert sub_client.get(sub_numbers, **_basic(sub["sid"], sub["auth_token"])).status_code == 401
    reopen = api_a.post(f"/2010-04-01/Accounts/{sub['sid']}.json", {"Status": "active"})
    assert (reopen.status_code, reopen.json()["code"]) == (400, 21479)


def test_an_account_cannot_change_its_own_status(api_a: TwilioClient) -> None:
    response = api_a.post(f"/2010-04-01/Accounts/{api_a.tenant.sid}.json", {"Status": "suspended"})
    assert response.status_code == 403
    renamed = api_a.post(f"/2010-04-01/Accounts/{api_a.tenant.sid}.json", {"FriendlyName": "Renamed"})
    assert renamed.json()["friendly_name"] == "Renamed"


def test_subaccounts_are_one_level_deep(api_a: TwilioClient) -> None:
    sub = api_a.post("/2010-04-01/Accounts.json").json()
    nested = Client().post(
        "/2010-04-01/Accounts.json",
        "",
        content_type="application/x-www-form-urlencoded",
        **_basic(sub["sid"], sub["auth_token"]),
    )
    assert nested.status_code == 403
    assert nested.json()["code"] == 20003


@override_settings(API_RATE_PER_SECOND=3)
def test_rate_limit_gets_20429(api_a: TwilioClient) -> None:
    statuses = [api_a.get(api_a.url("Keys.json")).status_code for _ in range(6)]
    assert statuses[:3] == [200, 200, 200]
    limited = api_a.get(api_a.url("Keys.json"))
    assert limited.status_code == 429
    assert limited.json()["code"] == 20429
