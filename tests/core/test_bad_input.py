"""Input that once reached PostgreSQL or int() and came back as a 500 (issue 9): a NUL in a list
filter, non-ASCII digits in paging or Content-Length. Each now gets Twilio's 400 error body."""

from typing import Any

import pytest
from django.test import Client

from tests.conftest import Tenant, TwilioClient

ERROR_KEYS = {"code", "message", "more_info", "status"}


def assert_twilio_error(response: Any, status: int, code: int) -> dict[str, Any]:
    body = response.json()
    assert (response.status_code, set(body), body["code"], body["status"]) == (
        status,
        ERROR_KEYS,
        code,
        status,
    ), body
    return body


@pytest.mark.parametrize(
    ("resource", "params"),
    [
        (None, {"FriendlyName": "\x00"}),  # the Accounts list itself
        ("IncomingPhoneNumbers.json", {"FriendlyName": "\x00"}),
        ("IncomingPhoneNumbers.json", {"PhoneNumber": "+1\x00"}),
        ("Calls.json", {"To": "\x00"}),
        ("Calls.json", {"Status": "completed\x00"}),
        ("Messages.json", {"From": "a\x00b"}),
    ],
)
def test_nul_in_a_twilio_list_filter_is_a_400(
    api_a: TwilioClient, resource: str | None, params: dict[str, str]
) -> None:
    url = api_a.url(resource) if resource else "/2010-04-01/Accounts.json"

    body = assert_twilio_error(api_a.get(url, **params), 400, 20422)

    (name,) = params
    assert body["message"] == f"Invalid parameter {name}: contains a NUL character"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/search", {"q": "flu\x00shot"}),
        ("/api/v1/conversations", {"cursor": "\x00"}),
        ("/api/v1/bulks", {"status\x00": "x"}),  # the name too: nothing in the query string may hold one
    ],
)
def test_nul_in_a_native_api_query_is_a_400(tenant_a: Tenant, path: str, params: dict[str, str]) -> None:
    assert_twilio_error(Client().get(path, params, **tenant_a.auth()), 400, 20422)


@pytest.mark.parametrize("size", ["²", "٣", "1" * 5000, "-1", " 5"])
def test_page_size_in_anything_but_ascii_digits_is_a_400(api_a: TwilioClient, size: str) -> None:
    assert_twilio_error(api_a.get(api_a.url("Messages.json"), PageSize=size), 400, 20422)
    assert_twilio_error(api_a.get(api_a.url("Calls.json"), Page=size), 400, 20422)


@pytest.mark.parametrize("size", ["²", "٣"])
def test_native_page_size_in_unicode_digits_is_a_400(tenant_a: Tenant, size: str) -> None:
    for path, params in (
        ("/api/v1/conversations", {}),
        ("/api/v1/search", {"q": "x"}),
        ("/api/v1/bulks", {}),
    ):
        response = Client().get(path, {**params, "page_size": size}, **tenant_a.auth())
        assert_twilio_error(response, 400, 20007)


def test_unicode_digits_as_content_length_are_refused(api_a: TwilioClient) -> None:
    response = api_a.client.post(
        api_a.url("Messages.json"),
        "To=%2B14155550100",
        content_type="application/x-www-form-urlencoded",
        CONTENT_LENGTH="²",
        **api_a.tenant.auth(),
    )

    assert_twilio_error(response, 413, 20422)


def test_ascii_digits_still_page(api_a: TwilioClient) -> None:
    response = api_a.get(api_a.url("Messages.json"), PageSize="007", Page="0")

    assert response.status_code == 200, response.content
    assert response.json()["page_size"] == 7


@pytest.mark.filterwarnings("error::RuntimeWarning")  # Django's warning about a naive datetime
def test_a_time_without_an_offset_in_a_date_filter_is_utc(api_a: TwilioClient) -> None:
    response = api_a.get(api_a.url("Messages.json"), **{"DateSent>": "2024-01-01T10:00:00"})

    assert response.status_code == 200, response.content
