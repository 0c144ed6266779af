"""The native conversations API in-process: shapes, keyset paging, search, notes, errors, query counts."""

import base64
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from compliance.models import AuditEntry
from conversations.models import Conversation, Item, Note
from conversations.selectors import TIMELINE, item_list, item_search
from conversations.services import conversation_mark_read, note_add
from core.tenancy import tenant_activate
from tests.conftest import Tenant
from tests.conversations.factories import inbound_call, number, recording, text_in, text_out
from voice.call_state import call_finish

CLINIC, PATIENT, OTHER_PATIENT = "+12025550100", "+14155550123", "+14155550188"
API = "/api/v1"


class NativeClient:
    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.client = Client()

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"{API}{path}", params, **self.tenant.auth())

    def post_json(self, path: str, body: Any) -> Any:
        return self.client.post(f"{API}{path}", body, content_type="application/json", **self.tenant.auth())


@pytest.fixture
def clinic(tenant_a: Tenant) -> Tenant:
    number(tenant_a, CLINIC)
    return tenant_a


@pytest.fixture
def api(clinic: Tenant) -> NativeClient:
    return NativeClient(clinic)


def _note(tenant: Tenant, conversation: Conversation, text: str) -> Note:
    tenant_activate(tenant.account.id)
    return note_add(account=tenant.account, conversation=conversation, author=None, text=text, actor="test")


def test_inbox_lists_threads_by_latest_activity_with_contact_and_preview(api: NativeClient) -> None:
    inbound_call(PATIENT, CLINIC)
    inbound_call(OTHER_PATIENT, CLINIC)
    first = Conversation.objects.get(contact__phone_number=PATIENT)
    _note(api.tenant, first, "Prefers afternoons")  # the older thread becomes the newest

    body = api.get("/conversations").json()

    assert [c["contact"]["phone_number"] for c in body["conversations"]] == [PATIENT, OTHER_PATIENT]
    top = body["conversations"][0]
    assert top["sid"] == first.sid and top["sid"].startswith("CV")
    assert top["account_sid"] == api.tenant.sid and top["tenant_number"] == CLINIC
    assert top["unread_count"] == 1
    assert top["last_item"]["kind"] == "note" and top["last_item"]["note"]["text"] == "Prefers afternoons"
    assert top["last_activity_at"].endswith("Z")
    assert top["items_url"] == f"{API}/conversations/{first.sid}/items"
    assert body["next_cursor"] is None and body["next_page_url"] is None
    assert api.get(f"/conversations/{first.sid}").json() == top


def test_timeline_shows_calls_recordings_and_notes_newest_first(api: NativeClient) -> None:
    call = inbound_call(PATIENT, CLINIC)
    call_finish(account_id=call.account_id, call_id=call.id, status="no-answer")
    voicemail = recording(call)
    conversation = Conversation.objects.get()
    note = _note(api.tenant, conversation, "Called back, left a message")

    items = api.get(f"/conversations/{conversation.sid}/items").json()["items"]

    assert [item["kind"] for item in items] == ["note", "recording", "call"]
    assert items[0]["note"] == {"sid": note.sid, "text": "Called back, left a message", "author": None}
    assert items[0]["call"] is None and items[0]["recording"] is None
    account = f"/2010-04-01/Accounts/{api.tenant.sid}"
    assert items[1]["recording"] == {
        "sid": voicemail.sid,
        "call_sid": call.sid,
        "status": "completed",
        "duration": 3,
        "media_url": f"{account}/Recordings/{voicemail.sid}.wav",
    }
    assert items[2]["call"] == {
        "sid": call.sid,
        "direction": "inbound",
        "status": "no-answer",  # read live from the call, not copied when it was logged
        "from_number": PATIENT,
        "to_number": CLINIC,
        "duration": 0,
        "uri": f"{account}/Calls/{call.sid}.json",
    }
    assert {item["conversation_sid"] for item in items} == {conversation.sid}


def test_timeline_pages_by_cursor_without_gaps_or_repeats(api: NativeClient) -> None:
    inbound_call(PATIENT, CLINIC)
    conversation = Conversation.objects.get()
    notes = [_note(api.tenant, conversation, f"note {n}") for n in range(5)]

    seen, url = [], f"/conversations/{conversation.sid}/items"
    params: dict[str, Any] = {"page_size": 2}
    while True:
        body = api.get(url, **params).json()
        seen.append([item["note"]["text"] if item["note"] else "call" for item in body["items"]])
        if body["next_cursor"] is None:
            break
        assert body["next_page_url"] == f"{API}{url}?page_size=2&cursor={body['next_cursor']}"
        params = {"page_size": 2, "cursor": body["next_cursor"]}

    assert seen == [["note 4", "note 3"], ["note 2", "note 1"], ["note 0", "call"]]
    assert len(notes) == 5


def test_inbox_pages_by_cursor(api: NativeClient) -> None:
    for n in range(3):
        inbound_call(f"+1415555014{n}", CLINIC)
    first = api.get("/conversations", page_size=2).json()
    second = api.get("/conversations", page_size=2, cursor=first["next_cursor"]).json()
    shown = [c["contact"]["phone_number"] for c in first["conversations"] + second["conversations"]]
    assert shown == ["+14155550142", "+14155550141", "+14155550140"] and second["next_cursor"] is None


def test_inbox_lists_only_unread_threads_when_asked(api: NativeClient) -> None:
    inbound_call(PATIENT, CLINIC)
    inbound_call("+14155550140", CLINIC)
    tenant_activate(api.tenant.account.id)
    conversation_mark_read(conversation=Conversation.objects.get(contact__phone_number="+14155550140"))
    unread = api.get("/conversations", unread="true").json()["conversations"]
    assert [c["contact"]["phone_number"] for c in unread] == [PATIENT]
    assert len(api.get("/conversations").json()["conversations"]) == 2


def test_adding_a_note_through_the_api_is_audited_and_searchable(api: NativeClient) -> None:
    inbound_call(PATIENT, CLINIC)
    conversation = Conversation.objects.get()

    response = api.post_json(f"/conversations/{conversation.sid}/notes", {"text": "Insurance card expired"})

    assert response.status_code == 201, response.content
    item = response.json()
    assert item["kind"] == "note" and item["note"]["text"] == "Insurance card expired"
    assert item["note"]["author"] is None and item["conversation_sid"] == conversation.sid
    entry = AuditEntry.objects.order_by("-seq").first()
    assert (entry.action, entry.object_sid, entry.actor) == (
        "note.create",
        item["note"]["sid"],
        f"account:{api.tenant.sid}",
    )
    hits = api.get("/search", q="expired insurance").json()["items"]
    assert [hit["sid"] for hit in hits] == [item["sid"]]
    assert hits[0]["contact"]["phone_number"] == PATIENT
    form = api.client.post(
        f"{API}/conversations/{conversation.sid}/notes",
        "text=By+form+too",
        content_type="application/x-www-form-urlencoded",
        **api.tenant.auth(),
    )
    assert form.status_code == 201 and form.json()["note"]["text"] == "By form too"


def test_timeline_shows_texts_both_ways_with_their_live_status(api: NativeClient) -> None:
    question = text_in(PATIENT, CLINIC, "Running 10 minutes late")
    answer = text_out(api.tenant, CLINIC, PATIENT, "No problem, see you soon")
    conversation = Conversation.objects.get()

    items = api.get(f"/conversations/{conversation.sid}/items").json()["items"]

    account = f"/2010-04-01/Accounts/{api.tenant.sid}"
    assert [item["message"] for item in items] == [
        {
            "sid": answer.sid,
            "direction": "outbound-api",
            "status": "queued",
            "from_number": CLINIC,
            "to_number": PATIENT,
            "body": "No problem, see you soon",
            "num_media": 0,
            "uri": f"{account}/Messages/{answer.sid}.json",
        },
        {
            "sid": question.sid,
            "direction": "inbound",
            "status": "received",
            "from_number": PATIENT,
            "to_number": CLINIC,
            "body": "Running 10 minutes late",
            "num_media": 0,
            "uri": f"{account}/Messages/{question.sid}.json",
        },
    ]
    assert {item["kind"] for item in items} == {"message"}
    inbox = api.get("/conversations").json()["conversations"]
    assert inbox[0]["last_item"]["message"]["body"] == "No problem, see you soon"


def test_search_finds_message_bodies_and_notes_together(api: NativeClient) -> None:
    text_in(PATIENT, CLINIC, "Is my prescription ready?")
    conversation = Conversation.objects.get()
    _note(api.tenant, conversation, "Prescription faxed to the pharmacy")
    text_out(api.tenant, CLINIC, PATIENT, "Ready for pickup")

    hits = api.get("/search", q="prescription").json()["items"]

    shown = [hit["note"]["text"] if hit["note"] else hit["message"]["body"] for hit in hits]
    assert shown == ["Prescription faxed to the pharmacy", "Is my prescription ready?"]
    page = api.get("/search", q="prescription", page_size=1).json()
    rest = api.get("/search", q="prescription", page_size=1, cursor=page["next_cursor"]).json()
    assert [h["sid"] for h in page["items"] + rest["items"]] == [h["sid"] for h in hits]
    assert rest["next_cursor"] is None


def test_search_speaks_web_search_syntax_and_pages(api: NativeClient) -> None:
    inbound_call(PATIENT, CLINIC)
    conversation = Conversation.objects.get()
    for text in ("Wants the morning appointment", "Cancelled the appointment", "Morning shift called"):
        _note(api.tenant, conversation, text)

    def texts(**params: Any) -> list[str]:
        return [hit["note"]["text"] for hit in api.get("/search", **params).json()["items"]]

    assert texts(q="appointments") == [
        "Cancelled the appointment",
        "Wants the morning appointment",
    ]  # stemmed
    assert texts(q='"morning appointment"') == ["Wants the morning appointment"]
    assert texts(q="morning -appointment") == ["Morning shift called"]
    assert texts(q="cancelled or shift") == ["Morning shift called", "Cancelled the appointment"]
    page = api.get("/search", q="appointment", page_size=1).json()
    assert [h["note"]["text"] for h in page["items"]] == ["Cancelled the appointment"]
    rest = api.get("/search", q="appointment", page_size=1, cursor=page["next_cursor"]).json()
    assert [h["note"]["text"] for h in rest["items"]] == ["Wants the morning appointment"]
    assert texts(q="dentist") == []


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/search", {}, 400, 20001),
        ("/search", {"q": "x" * 257}, 400, 20422),
        ("/conversations", {"page_size": "0"}, 400, 20007),
        ("/conversations", {"page_size": "many"}, 400, 20007),
        ("/conversations", {"cursor": "not-a-cursor"}, 400, 21481),
        ("/conversations/CVnope", {}, 404, 20404),
        ("/conversations/CV00000000000000000000000000000000/items", {}, 404, 20404),
        ("/no-such-thing", {}, 404, 20404),
    ],
)
def test_bad_requests_get_twilio_error_bodies(
    api: NativeClient, path: str, params: dict[str, str], status: int, code: int
) -> None:
    response = api.get(path, **params)
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["status"] == status and body["more_info"].endswith(str(code))


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({}, 20001, "Missing required parameter text"),
        ({"text": ""}, 20422, "Invalid parameter text"),
        ({"text": "x" * 4001}, 20422, "Invalid parameter text"),
        (["text"], 20422, "Invalid data. Expected a dictionary"),
    ],
)
def test_bad_notes_are_refused_and_write_nothing(
    api: NativeClient, body: Any, code: int, message: str
) -> None:
    inbound_call(PATIENT, CLINIC)
    conversation = Conversation.objects.get()
    response = api.post_json(f"/conversations/{conversation.sid}/notes", body)
    assert response.status_code == 400 and response.json()["code"] == code
    assert response.json()["message"].startswith(message)
    assert not Note.objects.exists()


def test_credentials_are_required(api: NativeClient) -> None:
    response = Client().get(f"{API}/conversations")
    assert response.status_code == 401 and response.json()["code"] == 20003
    wrong = base64.b64encode(f"{api.tenant.sid}:wrong".encode()).decode()
    response = Client().get(f"{API}/conversations", HTTP_AUTHORIZATION=f"Basic {wrong}")
    assert response.status_code == 401


def test_conversation_is_invisible_to_other_tenant(api: NativeClient, tenant_b: Tenant) -> None:
    inbound_call(PATIENT, CLINIC)
    conversation = Conversation.objects.get()
    _note(api.tenant, conversation, "Allergic to penicillin")
    other = NativeClient(tenant_b)

    assert other.get("/conversations").json()["conversations"] == []
    assert other.get("/search", q="penicillin").json()["items"] == []
    for path in (f"/conversations/{conversation.sid}", f"/conversations/{conversation.sid}/items"):
        assert other.get(path).status_code == 404
    response = other.post_json(f"/conversations/{conversation.sid}/notes", {"text": "mine now"})
    assert response.status_code == 404
    tenant_activate(api.tenant.account.id)
    assert Note.objects.count() == 1


def test_naming_a_contact_is_audited_and_shows_in_its_conversations(
    api: NativeClient, tenant_b: Tenant
) -> None:
    inbound_call(PATIENT, CLINIC)
    contact = Conversation.objects.get().contact

    response = api.post_json(f"/contacts/{contact.sid}", {"name": "Ada Lovelace"})

    assert response.status_code == 200, response.content
    assert response.json() == {"sid": contact.sid, "phone_number": PATIENT, "name": "Ada Lovelace"}
    assert api.get("/conversations").json()["conversations"][0]["contact"]["name"] == "Ada Lovelace"
    entry = AuditEntry.objects.order_by("-seq").first()
    assert (entry.action, entry.object_sid) == ("contact.update", contact.sid)
    assert api.post_json(f"/contacts/{contact.sid}", {"name": "x" * 65}).json()["code"] == 20422
    assert api.post_json("/contacts/CTnope", {"name": "Bob"}).status_code == 404
    other = NativeClient(tenant_b).post_json(f"/contacts/{contact.sid}", {"name": "Mallory"})
    assert other.status_code == 404
    tenant_activate(api.tenant.account.id)
    contact.refresh_from_db()
    assert contact.name == "Ada Lovelace"


def _timeline_queries(api: NativeClient, conversation: Conversation) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = api.get(f"/conversations/{conversation.sid}/items", page_size=50)
        assert response.status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def test_a_timeline_page_is_one_query_however_long_the_timeline(api: NativeClient) -> None:
    call = inbound_call(PATIENT, CLINIC)
    recording(call)
    conversation = Conversation.objects.get()
    _note(api.tenant, conversation, "first")
    few = _timeline_queries(api, conversation)

    for n in range(60):
        _note(api.tenant, conversation, f"note {n}")
    for n in range(3):
        recording(inbound_call(PATIENT, CLINIC))
        text_in(PATIENT, CLINIC, f"text {n}")
        text_out(api.tenant, CLINIC, PATIENT, f"reply {n}")
    many = _timeline_queries(api, conversation)

    assert len(many) == len(few)
    ours = [sql for sql in many if "conversations_" in sql]
    assert len(ours) == 2  # the conversation, then the page of items with everything they show
    assert all(
        table in ours[1]
        for table in ("conversations_item", "voice_call", "messaging_message", "conversations_note")
    )


def test_timeline_runs_on_its_index_and_search_on_the_text_index_expression(api: NativeClient) -> None:
    inbound_call(PATIENT, CLINIC)
    conversation = Conversation.objects.get()
    _note(api.tenant, conversation, "Needs an interpreter")
    cursor = TIMELINE.cursor(Item.objects.filter(conversation=conversation).latest("occurred_at"))
    with CaptureQueriesContext(connection) as captured:
        item_list(conversation=conversation, after=cursor, size=10)
        item_search(account=api.tenant.account, text="interpreter", after=None, size=10)
    timeline_sql, search_sql = captured.captured_queries[0]["sql"], captured.captured_queries[1]["sql"]

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table would be scanned anyway

        def plan(sql: str) -> str:
            cursor.execute(f"EXPLAIN {sql}")
            return "\n".join(row[0] for row in cursor.fetchall())

        timeline, search = plan(timeline_sql), plan(search_sql)
        cursor.execute(
            "SELECT pg_get_indexdef('note_text_search'::regclass), "
            "pg_get_indexdef('message_body_search'::regclass)"
        )
        note_index, body_index = cursor.fetchone()

    # The page is one range on the timeline index: the cursor is part of the index condition.
    assert "item_timeline" in timeline and "ROW(" in timeline.split("Index Cond:")[1].split("\n")[0]
    # PostgreSQL uses an expression index only for the very same expression; which plan it picks
    # then depends on the table's statistics, which a test transaction cannot gather.
    for index, column in ((note_index, "text"), (body_index, "body")):
        expression = index[index.index("gin (") + 5 : -1]
        assert expression == f"to_tsvector('english'::regconfig, COALESCE({column}, ''::text))"
        assert f"{expression} @@" in search


def test_schema_documents_the_native_api_in_snake_case(tmp_path: object, db: None) -> None:
    target = f"{tmp_path}/schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", target)
    with open(target) as handle:
        schema = yaml.safe_load(handle)
    assert {
        "/api/v1/conversations",
        "/api/v1/conversations/{sid}",
        "/api/v1/conversations/{sid}/items",
        "/api/v1/conversations/{sid}/notes",
        "/api/v1/search",
        "/api/v1/contacts/{sid}",
    } <= set(schema["paths"])
    notes = schema["paths"]["/api/v1/conversations/{sid}/notes"]["post"]
    assert (
        notes["security"] == [{"twilioBasic": []}] and "application/json" in notes["requestBody"]["content"]
    )
    components = schema["components"]["schemas"]
    assert set(components["NoteInputRequest"]["properties"]) == {"text"}  # not PascalCase, unlike Twilio's
    assert "PhoneNumber" in components["NumberCreateInputRequest"]["properties"]
