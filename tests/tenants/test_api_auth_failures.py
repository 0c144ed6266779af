"""Refused API credentials are counted per client address and per claimed SID, and answered with
Twilio's 20429 once over the limit (the Messages lane's part is in tests/messaging/test_messages_lane.py)."""

import base64

from django.test import Client

from core.attempts import attempt_key, attempts_check
from tenants.authentication import API_FAILURES_PER_ADDRESS, API_FAILURES_PER_CREDENTIAL
from tests.conftest import Tenant

TOO_MANY = {
    "code": 20429,
    "message": "Too Many Requests",
    "more_info": "https://www.twilio.com/docs/errors/20429",
    "status": 429,
}


def _basic(user: str, password: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _fetch(tenant: Tenant, token: str, address: str) -> tuple[int, int | None]:
    response = Client().get(
        f"/2010-04-01/Accounts/{tenant.sid}.json", REMOTE_ADDR=address, **_basic(tenant.sid, token)
    )
    return response.status_code, response.json().get("code")


def test_an_address_that_failed_too_often_is_refused_even_the_right_token(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    answers = [_fetch(tenant_a, "0" * 32, "198.51.100.4") for _ in range(API_FAILURES_PER_ADDRESS.free)]
    assert answers == [(401, 20003)] * API_FAILURES_PER_ADDRESS.free
    refused = Client().get(
        f"/2010-04-01/Accounts/{tenant_b.sid}.json", REMOTE_ADDR="198.51.100.4", **tenant_b.auth()
    )
    assert refused.status_code == 429 and refused.json() == TOO_MANY
    assert _fetch(tenant_b, tenant_b.token, "198.51.100.5") == (200, None)


def test_a_credential_guessed_from_many_addresses_is_refused_to_those_addresses_only(
    tenant_a: Tenant,
) -> None:
    guessers = [f"10.0.{n // 250}.{n % 250}" for n in range(API_FAILURES_PER_CREDENTIAL.free)]
    assert {_fetch(tenant_a, "f" * 32, address) for address in guessers} == {(401, 20003)}
    # A guesser holding the right token now gets nowhere; the account's own servers still get in.
    assert _fetch(tenant_a, tenant_a.token, guessers[0]) == (429, 20429)
    assert _fetch(tenant_a, tenant_a.token, "192.0.2.50") == (200, None)
    # API key SIDs are claimed credentials too.
    key_sid = "SK" + "1" * 32
    for address in guessers[:3]:
        Client().get(
            f"/2010-04-01/Accounts/{tenant_a.sid}/Calls.json", REMOTE_ADDR=address, **_basic(key_sid, "x")
        )
    (by_key,) = attempts_check([attempt_key("api-credential", key_sid)])
    assert by_key.failures == 3
