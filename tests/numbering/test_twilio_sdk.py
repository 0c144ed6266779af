"""The official `twilio` package, unmodified, against our real ASGI server on a loopback port."""

from datetime import datetime
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from tests.conftest import Tenant, make_tenant

pytestmark = pytest.mark.e2e


class LocalHttpClient(TwilioHttpClient):
    """Sends every request the SDK builds for https://<product>.twilio.com to our server instead, and
    the URLs our server wrote itself (the v1 APIs' absolute page URLs, on settings.PUBLIC_BASE_URL)."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def request(
        self,
        method,
        url,
        params=None,
        data=None,
        headers=None,
        auth=None,
        timeout=None,  # type: ignore[no-untyped-def]
        allow_redirects=False,
    ):
        if url.startswith(settings.PUBLIC_BASE_URL + "/"):
            url = "https://api.twilio.com" + url.removeprefix(settings.PUBLIC_BASE_URL)
        parts = urlsplit(url)
        product = parts.netloc.split(".")[0]
        prefix = "" if product == "api" else f"/{product}"
        local = f"{self.base_url}{prefix}{parts.path}" + (f"?{parts.query}" if parts.query else "")
        return super().request(method, local, params, data, headers, auth, timeout, allow_redirects)


@pytest.fixture
def tenant(django_db_blocker: pytest.FixtureRequest) -> Tenant:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        return make_tenant("SDK clinic")


def sdk(server: str, username: str, password: str, account_sid: str | None = None) -> Client:
    return Client(username, password, account_sid=account_sid, http_client=LocalHttpClient(server))


def test_subaccount_and_numbers_through_the_official_sdk(server: str, tenant: Tenant) -> None:
    client = sdk(server, tenant.sid, tenant.token)
    main = client.api.accounts(tenant.sid).fetch()
    assert main.sid == tenant.sid and main.status == "active"

    sub = client.api.accounts.create(friendly_name="Branch office")
    assert sub.owner_account_sid == tenant.sid and sub.friendly_name == "Branch office"
    assert {a.sid for a in client.api.accounts.list()} == {tenant.sid, sub.sid}

    sub_client = sdk(server, sub.sid, sub.auth_token)
    number = sub_client.incoming_phone_numbers.create(
        phone_number="+15017122661", voice_url="https://example.com/v"
    )
    assert number.sid.startswith("PN") and number.account_sid == sub.sid
    assert number.date_created is not None and number.date_created.tzinfo is not None

    updated = sub_client.incoming_phone_numbers(number.sid).update(
        sms_url="https://example.com/s", sms_method="GET"
    )
    assert (updated.sms_url, updated.sms_method, updated.voice_url) == (
        "https://example.com/s",
        "GET",
        "https://example.com/v",
    )
    # The parent reaches the subaccount's number with its own credentials, as Twilio allows.
    via_parent = sdk(server, tenant.sid, tenant.token, account_sid=sub.sid)
    assert via_parent.incoming_phone_numbers(number.sid).fetch().sms_url == "https://example.com/s"

    sub_client.incoming_phone_numbers(number.sid).delete()
    with pytest.raises(TwilioRestException) as missing:
        sub_client.incoming_phone_numbers(number.sid).fetch()
    assert (missing.value.status, missing.value.code) == (404, 20404)


def test_listing_follows_pages(server: str, tenant: Tenant) -> None:
    client = sdk(server, tenant.sid, tenant.token)
    created = {client.incoming_phone_numbers.create(phone_number=f"+1312555{i:04d}").sid for i in range(7)}
    assert {n.sid for n in client.incoming_phone_numbers.list(page_size=3)} == created
    assert len(client.incoming_phone_numbers.list(limit=5, page_size=2)) == 5
    page = client.incoming_phone_numbers.page(page_size=3)
    assert len(list(page)) == 3 and page.next_page() is not None
    assert [n.phone_number for n in client.incoming_phone_numbers.list(phone_number="+13125550003")] == [
        "+13125550003"
    ]


def test_errors_arrive_as_twilio_exceptions(server: str, tenant: Tenant) -> None:
    client = sdk(server, tenant.sid, tenant.token)
    with pytest.raises(TwilioRestException) as bad_number:
        client.incoming_phone_numbers.create(phone_number="555-not-a-number")
    assert (bad_number.value.status, bad_number.value.code) == (400, 21421)
    with pytest.raises(TwilioRestException) as bad_url:
        client.incoming_phone_numbers.create(phone_number="+15017122699", voice_url="not-a-url")
    assert bad_url.value.code == 21205
    with pytest.raises(TwilioRestException) as wrong_token:
        sdk(server, tenant.sid, "0" * 32).api.accounts(tenant.sid).fetch()
    assert (wrong_token.value.status, wrong_token.value.code) == (401, 20003)
    assert client.incoming_phone_numbers.list() == []  # nothing half-written by the failures


def test_api_key_credentials(server: str, tenant: Tenant) -> None:
    client = sdk(server, tenant.sid, tenant.token)
    key = client.new_keys.create(friendly_name="deploy")
    assert key.sid.startswith("SK") and key.secret
    assert [k.sid for k in client.keys.list()] == [key.sid]
    with_key = sdk(server, key.sid, key.secret, account_sid=tenant.sid)
    with_key.incoming_phone_numbers.create(phone_number="+15017122698")
    assert len(with_key.incoming_phone_numbers.list()) == 1


def test_auth_token_rotation_through_the_sdk(server: str, tenant: Tenant) -> None:
    """accounts.twilio.com's SecondaryAuthToken and AuthTokenPromotion resources, as the SDK calls them."""
    secondary = sdk(server, tenant.sid, tenant.token).accounts.v1.secondary_auth_token().create()
    assert secondary.account_sid == tenant.sid and secondary.secondary_auth_token
    assert isinstance(secondary.date_created, datetime)  # ISO 8601 as Twilio writes it, which the SDK parses
    with_secondary = sdk(server, tenant.sid, secondary.secondary_auth_token)
    assert with_secondary.api.accounts(tenant.sid).fetch().sid == tenant.sid
    promoted = with_secondary.accounts.v1.auth_token_promotion().update()
    assert promoted.auth_token == secondary.secondary_auth_token
    with pytest.raises(TwilioRestException) as refused:
        sdk(server, tenant.sid, tenant.token).api.accounts(tenant.sid).fetch()
    assert refused.value.status == 401 and refused.value.code == 20003
