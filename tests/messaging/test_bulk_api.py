"""The bulk alerts API in-process: create from JSON or a CSV file, bodies past the 64 KiB API limit,
errors, progress and recipients with keyset paging, cancel, idempotency, isolation, the schema."""

import json
from typing import Any

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from compliance.models import AuditEntry
from core.error_codes import ErrorCode
from core.tenancy import tenant_activate
from messaging.handover import message_claim
from messaging.models import Bulk, ConsentState, Message
from messaging.receipts import SubmitOutcome, messages_submit_outcomes
from numbering.models import IncomingPhoneNumber
from tests.conftest import Tenant
from tests.messaging.conftest import SENDER
from tests.messaging.test_bulk import BODY, THREAT, students

API = "/api/v1/bulks"


class BulkClient:
    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.client = Client()

    def get(self, path: str = "", **params: Any) -> Any:
        return self.client.get(f"{API}{path}", params, **self.tenant.auth())

    def post(self, path: str = "", body: Any = None, **headers: str) -> Any:
        return self.client.post(
            f"{API}{path}",
            json.dumps(body or {}),
            content_type="application/json",
            **self.tenant.auth(),
            **headers,
        )

    def create(self, recipients: list[str], **fields: Any) -> Any:
        payload = {
            "from_number": SENDER,
            "body": BODY,
            "message_class": "emergency",
            "threat_basis": THREAT,
            "recipients": recipients,
            **fields,
        }
        return self.post("", payload)


@pytest.fixture
def api(tenant_a: Tenant, sender: IncomingPhoneNumber) -> BulkClient:
    return BulkClient(tenant_a)


def test_create_from_json_answers_with_the_counts(api: BulkClient) -> None:
    ConsentState.objects.create(
        account=api.tenant.account, sender=SENDER, recipient=students(1, 103)[0], is_opted_out=True
    )

    response = api.create([*students(5), "+1 415 555 0100", "nope"])

    assert response.status_code == 201, response.content
    shown = response.json()
    assert shown["sid"].startswith("BK") and shown["account_sid"] == api.tenant.sid
    assert (shown["status"], shown["message_class"], shown["threat_basis"]) == (
        "sending",
        "emergency",
        THREAT,
    )
    assert {
        k: shown[k]
        for k in ("num_requested", "num_messages", "num_duplicates", "num_invalid", "num_opted_out")
    } == {
        "num_requested": 7,
        "num_messages": 4,
        "num_duplicates": 1,
        "num_invalid": 1,
        "num_opted_out": 1,
    }
    assert (shown["num_queued"], shown["num_sent"], shown["num_delivered"]) == (4, 0, 0)
    assert shown["invalid_recipients"] == ["nope"] and shown["opted_out_recipients"] == [students(1, 103)[0]]
    assert (
        shown["url"] == f"{API}/{shown['sid']}"
        and shown["recipients_url"] == f"{API}/{shown['sid']}/recipients"
    )
    assert shown["created_by"] == f"account:{api.tenant.sid}"
    entry = AuditEntry.objects.get(action="bulk.create")
    assert (entry.object_sid, entry.actor) == (shown["sid"], f"account:{api.tenant.sid}")


def test_create_from_a_csv_file_picks_the_phone_column(api: BulkClient) -> None:
    roster = "Student,Phone,Grade\nAda,+14155550100,9\nBo,+1 (415) 555-0101,10\nCy,,11\nDee,+14155550100,9\n"
    upload = SimpleUploadedFile("roster.csv", ("\ufeff" + roster).encode())  # a spreadsheet's BOM
    response = api.client.post(
        API,
        {
            "from_number": SENDER,
            "body": BODY,
            "message_class": "school-mission",
            "recipients_file": upload,
        },
        **api.tenant.auth(),
    )
    assert response.status_code == 201, response.content
    shown = response.json()
    assert (shown["num_requested"], shown["num_messages"], shown["num_duplicates"]) == (3, 2, 1)
    assert sorted(Message.objects.filter(bulk_id=shown["sid"][2:]).values_list("to_number", flat=True)) == [
        "+14155550100",
        "+14155550101",
    ]


def test_a_long_list_passes_the_64_kib_api_limit_and_an_oversized_one_is_refused(api: BulkClient) -> None:
    recipients = [f"+1415555{i:04d}" for i in range(6000)]
    body = json.dumps(
        {"from_number": SENDER, "body": BODY, "message_class": "school-mission", "recipients": recipients}
    )
    assert len(body) > 64 * 1024
    response = api.client.post(API, body, content_type="application/json", **api.tenant.auth())
    assert response.status_code == 201, response.content
    assert response.json()["num_messages"] == 6000

    too_many = api.create(["+14155550100"] * (Bulk.MAX_RECIPIENTS + 1))
    assert (too_many.status_code, too_many.json()["code"]) == (400, 20422)
    huge = api.client.post(
        API, "x" * (4 * 1024 * 1024 + 1), content_type="application/json", **api.tenant.auth()
    )
    assert (huge.status_code, huge.json()["code"]) == (413, 20422)
    # The larger limit is the bulk route's alone.
    other = api.client.post(
        "/api/v1/search", "x" * (64 * 1024 + 1), content_type="application/json", **api.tenant.auth()
    )
    assert other.status_code == 413


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"from_number": None}, 20001),
        ({"from_number": "+15005550006"}, 21606),
        ({"body": ""}, 21602),
        ({"message_class": "promo"}, 20422),
        ({"message_class": None}, 20001),  # no default class, least of all emergency
        ({"threat_basis": ""}, 20001),
        ({"recipients": "+14155550100"}, 20422),
        ({"recipients": [14155550100]}, 20422),
        ({"recipients": ["+14155550100", "+1415555\x000101"]}, 20422),  # a NUL once made a 500
        ({"recipients": ["\ud800"]}, 20422),  # a lone surrogate, which JSON can escape and UTF-8 cannot hold
        ({"body": "Closed\x00"}, 20422),
        ({"recipients": []}, 20001),
        ({"recipients": None}, 20001),
    ],
)
def test_bad_input_gets_twilio_errors_and_stores_nothing(
    api: BulkClient, fields: dict[str, Any], code: int
) -> None:
    payload = {"from_number": SENDER, "body": BODY, "message_class": "emergency", "threat_basis": THREAT}
    payload["recipients"] = students(3)
    for name, value in fields.items():
        if value is None:
            payload.pop(name)
        else:
            payload[name] = value
    response = api.post("", payload)
    assert (response.status_code, response.json()["code"]) == (400, code), response.content
    assert not Bulk.objects.exists() and not Message.objects.exists()


def test_progress_and_recipients_page_by_number(api: BulkClient) -> None:
    sid = api.create(students(7)).json()["sid"]
    tenant_activate(api.tenant.account.id)
    messages = list(Message.objects.filter(bulk_id=sid[2:]).order_by("to_number"))
    message_claim(account_id=api.tenant.account.id, message_ids=[m.id for m in messages[:3]], gateway="gw")
    messages_submit_outcomes(
        account_id=api.tenant.account.id,
        connector="c",
        outcomes=[
            SubmitOutcome(messages[0].sid, ("a",)),
            SubmitOutcome(messages[1].sid, error_code=ErrorCode.UNKNOWN_DESTINATION_HANDSET),
        ],
    )

    shown = api.get(f"/{sid}").json()
    counts = {k: shown[k] for k in ("num_queued", "num_sent", "num_failed")}
    assert counts == {"num_queued": 5, "num_sent": 1, "num_failed": 1}  # queued: not answered yet
    first = api.get(f"/{sid}/recipients", page_size=3).json()
    assert [r["to_number"] for r in first["recipients"]] == students(3)
    assert first["recipients"][0] == {
        "message_sid": messages[0].sid,
        "to_number": students(1)[0],
        "status": "sent",
        "error_code": None,
        "error_message": "",
        "date_sent": first["recipients"][0]["date_sent"],
        "date_updated": first["recipients"][0]["date_updated"],
        "uri": f"/2010-04-01/Accounts/{api.tenant.sid}/Messages/{messages[0].sid}.json",
    }
    assert first["recipients"][1]["error_code"] == 30005
    second = api.client.get(first["next_page_url"], **api.tenant.auth()).json()
    third = api.get(f"/{sid}/recipients", page_size=3, cursor=second["next_cursor"]).json()
    assert [r["to_number"] for r in second["recipients"] + third["recipients"]] == students(7)[3:]
    assert third["next_cursor"] is None and third["next_page_url"] is None
    queued = api.get(f"/{sid}/recipients", status="queued").json()["recipients"]
    assert [r["to_number"] for r in queued] == students(7)[3:]
    assert api.get(f"/{sid}/recipients", status="lost").json()["code"] == 20422
    assert api.get(f"/{sid}/recipients", cursor="!!").json()["code"] == 21481
    assert api.get(f"/{sid}/recipients", page_size=0).json()["code"] == 20007


def test_list_newest_first_with_cursor(api: BulkClient, django_assert_max_num_queries: Any) -> None:
    sids = [api.create(students(2), body=f"Alert {i}").json()["sid"] for i in range(3)]
    page = api.get("", page_size=2).json()
    assert [b["sid"] for b in page["bulks"]] == sids[::-1][:2]
    assert "invalid_recipients" not in page["bulks"][0]
    rest = api.get("", page_size=2, cursor=page["next_cursor"]).json()
    assert [b["sid"] for b in rest["bulks"]] == [sids[0]] and rest["next_cursor"] is None
    with django_assert_max_num_queries(12):  # authentication, throttling, one page: not a query per bulk
        api.get("", page_size=50)
    assert api.get("", cursor="bm90IGEgY3Vyc29y").json()["code"] == 21481


def test_cancel_through_the_api_is_audited_once(api: BulkClient) -> None:
    sid = api.create(students(4)).json()["sid"]
    canceled = api.post(f"/{sid}/cancel")
    assert canceled.status_code == 200
    assert (canceled.json()["status"], canceled.json()["num_canceled"]) == ("canceled", 4)
    assert api.post(f"/{sid}/cancel").json()["status"] == "canceled"
    assert AuditEntry.objects.filter(action="bulk.cancel", object_sid=sid).count() == 1


def test_the_idempotency_key_header_makes_a_retry_safe(api: BulkClient) -> None:
    first = api.post("", _payload(students(3)), HTTP_IDEMPOTENCY_KEY="alert-42")
    again = api.post("", _payload(students(9)), HTTP_IDEMPOTENCY_KEY="alert-42")
    assert first.status_code == again.status_code == 201
    assert again.json()["sid"] == first.json()["sid"] and again.json()["num_messages"] == 3
    assert Message.objects.count() == 3


def _payload(recipients: list[str]) -> dict[str, Any]:
    return {
        "from_number": SENDER,
        "body": BODY,
        "message_class": "emergency",
        "threat_basis": THREAT,
        "recipients": recipients,
    }


def test_bulk_api_is_invisible_to_other_tenant(api: BulkClient, tenant_b: Tenant) -> None:
    sid = api.create(students(3)).json()["sid"]
    other = BulkClient(tenant_b)
    for path in (f"/{sid}", f"/{sid}/recipients"):
        assert other.get(path).json()["code"] == 20404
    assert other.post(f"/{sid}/cancel").json()["code"] == 20404
    assert other.get("").json()["bulks"] == []
    tenant_activate(api.tenant.account.id)
    assert Bulk.objects.get().status == "sending"
    assert Client().get(API).status_code == 401


def test_schema_documents_the_bulk_api(tmp_path: object, db: None) -> None:
    target = f"{tmp_path}/schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", target)
    with open(target) as handle:
        schema = yaml.safe_load(handle)
    assert {
        "/api/v1/bulks",
        "/api/v1/bulks/{sid}",
        "/api/v1/bulks/{sid}/recipients",
        "/api/v1/bulks/{sid}/cancel",
    } <= set(schema["paths"])
    create = schema["paths"]["/api/v1/bulks"]["post"]
    assert {"application/json", "multipart/form-data"} <= set(create["requestBody"]["content"])
    properties = schema["components"]["schemas"]["BulkCreateInputRequest"]["properties"]
    assert {"from_number", "body", "message_class", "threat_basis", "recipients", "recipients_file"} <= set(
        properties
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"\xff\xfe+\x001\x00", "not a UTF-8 CSV file"), (b"x" * 200_000, "field larger than field limit")],
)
def test_a_file_that_is_not_a_list_gets_20422(api: BulkClient, content: bytes, reason: str) -> None:
    fields = {"from_number": SENDER, "body": BODY, "message_class": "school-mission"}
    fields["recipients_file"] = SimpleUploadedFile("list.csv", content)
    response = api.client.post(API, fields, **api.tenant.auth())
    assert (response.status_code, response.json()["code"]) == (400, 20422)
    assert reason in response.json()["message"] and not Bulk.objects.exists()
