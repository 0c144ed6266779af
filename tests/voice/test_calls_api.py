"""The Calls API's validation, shapes and filters (placing calls for real is in test_call_flows)."""

import pytest

from core.tenancy import tenant_activate
from numbering.services import number_create
from tests.conftest import TwilioClient
from voice.models import Call

CALLS = "Calls.json"


@pytest.fixture
def caller_id(api_a: TwilioClient) -> str:
    tenant_activate(api_a.tenant.account.id)
    number_create(account=api_a.tenant.account, actor="test", phone_number="+15017122661")
    return "+15017122661"


def test_create_queues_the_call_in_twilio_shape(
    api_a: TwilioClient, caller_id: str, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        response = api_a.post(
            api_a.url(CALLS),
            {
                "To": "+14155550123",
                "From": caller_id,
                "Url": "https://example.com/twiml",
                "StatusCallbackEvent": ["initiated", "completed"],
            },
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "queued" and body["direction"] == "outbound-api"
    assert body["to"] == "+14155550123" and body["from"] == caller_id
    assert body["to_formatted"] == "(415) 555-0123" and body["duration"] is None
    assert body["uri"] == f"/2010-04-01/Accounts/{api_a.tenant.sid}/Calls/{body['sid']}.json"
    assert len(callbacks) == 2  # the originate task and the conversation log, only once the row is committed
    call = Call.objects.get(id=body["sid"][2:])
    assert call.status_callback_events == ["initiated", "completed"] and call.channel_id == body["sid"]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"To": "12", "Url": "https://example.com/t"}, 21211),
        ({"To": "+14155550123", "From": "nope", "Url": "https://example.com/t"}, 21212),
        ({"To": "+14155550123", "From": "+14155550199", "Url": "https://example.com/t"}, 21210),
        ({"To": "+14155550123"}, 21205),
        ({"To": "+14155550123", "Url": "ftp://example.com/t"}, 21205),
        ({"To": "+14155550123", "Twiml": "<Response><Say>unclosed"}, 12100),
        ({"To": "+14155550123", "Twiml": "<Response>" + "<Pause/>" * 600 + "</Response>"}, 32018),
        ({"To": "+14155550123", "Url": "https://example.com/t", "Timeout": "601"}, 20422),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(
    api_a: TwilioClient, caller_id: str, params: dict, code: int
) -> None:
    params.setdefault("From", caller_id)
    response = api_a.post(api_a.url(CALLS), params)
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    assert Call.objects.count() == 0


def test_list_filters_and_fetch(api_a: TwilioClient, caller_id: str) -> None:
    for to in ("+14155550123", "+14155550124"):
        api_a.post(api_a.url(CALLS), {"To": to, "From": caller_id, "Url": "https://example.com/t"})
    listed = api_a.get(api_a.url(CALLS), To="+14155550124").json()["calls"]
    assert [c["to"] for c in listed] == ["+14155550124"]
    assert len(api_a.get(api_a.url(CALLS), Status="queued").json()["calls"]) == 2
    assert api_a.get(api_a.url(CALLS), Status="completed").json()["calls"] == []
    assert api_a.get(api_a.url(f"Calls/{listed[0]['sid']}.json")).json()["sid"] == listed[0]["sid"]


def test_canceling_a_queued_call_and_redirecting_an_ended_one(api_a: TwilioClient, caller_id: str) -> None:
    sid = api_a.post(
        api_a.url(CALLS), {"To": "+14155550123", "From": caller_id, "Url": "https://example.com/t"}
    ).json()["sid"]
    canceled = api_a.post(api_a.url(f"Calls/{sid}.json"), {"Status": "canceled"})
    assert canceled.json()["status"] == "canceled"
    again = api_a.post(api_a.url(f"Calls/{sid}.json"), {"Url": "https://example.com/other"})
    assert again.status_code == 400 and again.json()["code"] == 21220
