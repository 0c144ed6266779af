"""IncomingPhoneNumbers over the Twilio wire format, including every kind of bad input."""

import pytest
from django.db import connection

from compliance.models import AuditChainHead
from core.tenancy import tenant_activate
from numbering.models import IncomingPhoneNumber
from tests.conftest import TwilioClient

NUMBERS = "IncomingPhoneNumbers.json"


def _chain_length(account_id: object) -> int:
    head = AuditChainHead.objects.filter(account_id=account_id).first()
    return head.seq if head else 0


def test_create_fetch_update_delete_round_trip(api_a: TwilioClient) -> None:
    created = api_a.post(
        api_a.url(NUMBERS),
        {"PhoneNumber": "+15017122661", "VoiceUrl": "https://example.com/v", "FriendlyName": "Front desk"},
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["sid"].startswith("PN") and len(body["sid"]) == 34
    assert body["account_sid"] == api_a.tenant.sid
    assert body["phone_number"] == "+15017122661"
    assert body["voice_url"] == "https://example.com/v"
    assert body["voice_method"] == "POST"
    assert body["uri"] == f"/2010-04-01/Accounts/{api_a.tenant.sid}/IncomingPhoneNumbers/{body['sid']}.json"
    assert body["date_created"].endswith("+0000")

    path = api_a.url(f"IncomingPhoneNumbers/{body['sid']}.json")
    assert api_a.get(path).json()["friendly_name"] == "Front desk"

    updated = api_a.post(path, {"SmsUrl": "https://example.com/sms", "SmsMethod": "get"})
    assert updated.status_code == 200
    assert updated.json()["sms_url"] == "https://example.com/sms"
    assert updated.json()["sms_method"] == "GET"

    assert api_a.delete(path).status_code == 204
    assert api_a.get(path).status_code == 404


def test_list_pages_with_twilio_envelope(api_a: TwilioClient) -> None:
    for i in range(5):
        assert api_a.post(api_a.url(NUMBERS), {"PhoneNumber": f"+1212555010{i}"}).status_code == 201
    first = api_a.get(api_a.url(NUMBERS), PageSize=2).json()
    assert set(first) == {
        "incoming_phone_numbers",
        "page",
        "page_size",
        "start",
        "end",
        "uri",
        "first_page_uri",
        "next_page_uri",
        "previous_page_uri",
    }
    seen = [n["phone_number"] for n in first["incoming_phone_numbers"]]
    page = first
    while page["next_page_uri"]:
        page = api_a.client.get(page["next_page_uri"], **api_a.tenant.auth()).json()
        seen += [n["phone_number"] for n in page["incoming_phone_numbers"]]
    assert sorted(seen) == [f"+1212555010{i}" for i in range(5)]
    assert seen[0] == "+12125550104"  # newest first
    assert page["page"] == 2 and page["start"] == 4
    back = api_a.client.get(page["previous_page_uri"], **api_a.tenant.auth()).json()
    assert [n["phone_number"] for n in back["incoming_phone_numbers"]] == seen[2:4]


def test_list_filters_by_phone_number(api_a: TwilioClient) -> None:
    api_a.post(api_a.url(NUMBERS), {"PhoneNumber": "+12125550100"})
    api_a.post(api_a.url(NUMBERS), {"PhoneNumber": "+13125550100"})
    found = api_a.get(api_a.url(NUMBERS), PhoneNumber="+1312*").json()["incoming_phone_numbers"]
    assert [n["phone_number"] for n in found] == ["+13125550100"]


def test_list_query_count_does_not_grow_with_data(api_a: TwilioClient, django_assert_num_queries) -> None:
    def count_queries() -> int:
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert api_a.get(api_a.url(NUMBERS), PageSize=50).status_code == 200
        return len(ctx.captured_queries)

    api_a.post(api_a.url(NUMBERS), {"PhoneNumber": "+12125550100"})
    small = count_queries()
    IncomingPhoneNumber.objects.bulk_create(
        IncomingPhoneNumber(account=api_a.tenant.account, phone_number=f"+1212555{i:04d}", friendly_name="n")
        for i in range(1000, 1120)
    )
    assert count_queries() == small
    with django_assert_num_queries(small):
        api_a.get(api_a.url(NUMBERS), PageSize=50)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"PhoneNumber": "12"}, 21421),
        ({"PhoneNumber": "+1555"}, 21421),
        ({"PhoneNumber": "not a number"}, 21421),
        ({}, 21421),
        ({"AreaCode": "212"}, 21452),
        ({"PhoneNumber": "+15017122661", "VoiceUrl": "ftp://example.com/x"}, 21205),
        ({"PhoneNumber": "+15017122661", "SmsUrl": "not a url"}, 21205),
        ({"PhoneNumber": "+15017122661", "VoiceMethod": "PUT"}, 20422),
    ],
)
def test_bad_input_gets_twilio_error_and_writes_nothing(api_a: TwilioClient, params: dict, code: int) -> None:
    chain_before = _chain_length(api_a.tenant.account.id)
    response = api_a.post(api_a.url(NUMBERS), params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code
    assert body["status"] == 400
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert IncomingPhoneNumber.objects.count() == 0
    assert _chain_length(api_a.tenant.account.id) == chain_before


def test_number_owned_by_another_tenant_is_not_available(api_a: TwilioClient, api_b: TwilioClient) -> None:
    assert api_a.post(api_a.url(NUMBERS), {"PhoneNumber": "+15017122661"}).status_code == 201
    response = api_b.post(api_b.url(NUMBERS), {"PhoneNumber": "+15017122661"})
    assert response.status_code == 400
    assert response.json()["code"] == 21422
    tenant_activate(api_b.tenant.account.id)
    assert IncomingPhoneNumber.objects.count() == 0  # nothing written for B, and A's number stays invisible
    tenant_activate(api_a.tenant.account.id)
    assert IncomingPhoneNumber.objects.count() == 1


def test_unknown_parameters_are_ignored(api_a: TwilioClient) -> None:
    response = api_a.post(
        api_a.url(NUMBERS), {"PhoneNumber": "+15017122661", "NoSuchThing": "x", "AccountId": "hack"}
    )
    assert response.status_code == 201
    assert "no_such_thing" not in response.json()


def test_oversized_body_is_refused(api_a: TwilioClient) -> None:
    response = api_a.post(api_a.url(NUMBERS), {"PhoneNumber": "+15017122661", "FriendlyName": "x" * 70_000})
    assert response.status_code == 413
    assert response.json()["code"] == 20422
    assert IncomingPhoneNumber.objects.count() == 0


def test_non_utf8_body_is_refused(api_a: TwilioClient) -> None:
    response = api_a.client.post(
        api_a.url(NUMBERS),
        b"PhoneNumber=%2B15017122661&FriendlyName=caf%E9",
        content_type="application/x-www-form-urlencoded",
        **api_a.tenant.auth(),
    )
    assert response.status_code == 400
    assert response.json()["code"] == 20422
    raw = api_a.client.post(
        api_a.url(NUMBERS),
        b"PhoneNumber=%2B15017122661&FriendlyName=caf\xe9",
        content_type="application/x-www-form-urlencoded",
        **api_a.tenant.auth(),
    )
    assert raw.status_code == 400
    assert IncomingPhoneNumber.objects.count() == 0


def test_non_utf8_query_string_is_refused(api_a: TwilioClient) -> None:
    response = api_a.client.get(api_a.url(NUMBERS) + "?FriendlyName=%E9", **api_a.tenant.auth())
    assert response.status_code == 400
    assert response.json()["code"] == 20422


def test_bad_page_token_size_and_depth(api_a: TwilioClient) -> None:
    assert api_a.get(api_a.url(NUMBERS), PageToken="PTnonsense").json()["code"] == 21481
    assert api_a.get(api_a.url(NUMBERS), PageSize=5000).json()["code"] == 20007
    # Deep pages come by PageToken (an index range), never by an OFFSET the database must walk.
    too_deep = api_a.get(api_a.url(NUMBERS), Page=201, PageSize=50)
    assert too_deep.status_code == 400 and too_deep.json()["code"] == 20422
    assert api_a.get(api_a.url(NUMBERS), Page=200, PageSize=50).status_code == 200


def test_unknown_resource_is_twilio_404(api_a: TwilioClient) -> None:
    response = api_a.get(api_a.url("NoSuchResource.json"))
    assert response.status_code == 404
    assert response.json()["code"] == 20404
