"""Calls, recordings and notes land in one conversation per (tenant number, contact), once each."""

import pytest
from django.db import connection

from compliance.models import AuditEntry
from conversations.models import Contact, Conversation, Item, Note
from conversations.selectors import item_search
from conversations.services import (
    conversation_log_call,
    conversation_log_message,
    conversation_log_recording,
    conversation_mark_read,
    note_add,
)
from core.tenancy import tenant_activate
from messaging.updates import message_delete, message_redact
from tenants.services import user_create
from tests.conftest import Tenant
from tests.conversations.factories import inbound_call, number, outbound_call, recording, text_in, text_out
from voice.models import Call
from voice.recordings import recording_delete

CLINIC, OTHER_LINE, PATIENT = "+12025550100", "+12025550111", "+14155550123"


@pytest.fixture
def clinic(tenant_a: Tenant) -> Tenant:
    number(tenant_a, CLINIC)
    number(tenant_a, OTHER_LINE)
    return tenant_a


def _items(conversation: Conversation) -> list[tuple[str, object]]:
    rows = Item.objects.filter(conversation=conversation).order_by("occurred_at", "id")
    return [
        (item.kind, item.call_id or item.message_id or item.recording_id or item.note_id) for item in rows
    ]


def test_calls_both_ways_share_the_thread_of_number_and_contact(clinic: Tenant, eager_tasks: None) -> None:
    inbound = inbound_call(PATIENT, CLINIC)
    outbound = outbound_call(clinic, CLINIC, PATIENT)
    other_line = inbound_call(PATIENT, OTHER_LINE)

    [contact] = Contact.objects.all()
    assert contact.phone_number == PATIENT and contact.account_id == clinic.account.id
    thread = Conversation.objects.get(tenant_number=CLINIC)
    assert thread.contact == contact
    assert _items(thread) == [("call", inbound.id), ("call", outbound.id)]
    assert thread.last_item.call_id == outbound.id and thread.last_activity_at == outbound.date_created
    assert _items(Conversation.objects.get(tenant_number=OTHER_LINE)) == [("call", other_line.id)]


def test_logging_a_call_or_recording_again_changes_nothing(clinic: Tenant) -> None:
    call = inbound_call(PATIENT, CLINIC)
    stored = recording(call)
    thread = Conversation.objects.get()
    before = (thread.last_item_id, thread.last_activity_at, thread.unread_count, thread.date_updated)

    conversation_log_call(call=call)
    conversation_log_recording(recording=stored)

    thread.refresh_from_db()
    assert _items(thread) == [("call", call.id), ("recording", stored.id)]
    assert (thread.last_item_id, thread.last_activity_at, thread.unread_count, thread.date_updated) == before


def test_inbound_calls_count_as_unread_until_read(clinic: Tenant, eager_tasks: None) -> None:
    inbound_call(PATIENT, CLINIC)
    inbound_call(PATIENT, CLINIC)
    outbound_call(clinic, CLINIC, PATIENT)
    thread = Conversation.objects.get()
    assert thread.unread_count == 2

    conversation_mark_read(conversation=thread)

    thread.refresh_from_db()
    assert thread.unread_count == 0


def test_an_older_item_logged_late_does_not_become_the_preview(clinic: Tenant) -> None:
    first = inbound_call(PATIENT, CLINIC)
    second = inbound_call(PATIENT, CLINIC)
    Item.objects.filter(call=first).delete()

    conversation_log_call(call=first)  # e.g. a retried hook, after a newer call was logged

    thread = Conversation.objects.get()
    assert thread.last_item.call_id == second.id and thread.last_activity_at == second.date_created


@pytest.mark.parametrize(
    ("direction", "from_number", "to_number"),
    [
        (Call.Direction.INBOUND, "anonymous", CLINIC),
        (Call.Direction.INBOUND, "sip:alice@example.com", CLINIC),
        (Call.Direction.OUTBOUND_DIAL, CLINIC, PATIENT),  # a <Dial> leg belongs to its parent call
    ],
)
def test_calls_without_a_contact_number_make_no_conversation(
    clinic: Tenant, direction: str, from_number: str, to_number: str
) -> None:
    call = Call.objects.create(
        account=clinic.account, direction=direction, from_number=from_number, to_number=to_number
    )
    conversation_log_call(call=call)
    assert not Conversation.objects.exists() and not Contact.objects.exists()


def test_a_recording_joins_its_calls_thread_and_leaves_with_it(clinic: Tenant) -> None:
    call = inbound_call(PATIENT, CLINIC)
    stored = recording(call)
    thread = Conversation.objects.get()
    assert _items(thread) == [("call", call.id), ("recording", stored.id)]
    assert thread.last_item.recording_id == stored.id

    recording_delete(recording=stored, actor="test")

    thread.refresh_from_db()
    assert _items(thread) == [("call", call.id)] and thread.last_item is None


def test_a_note_is_an_audited_timeline_item(clinic: Tenant) -> None:
    call = inbound_call(PATIENT, CLINIC)
    thread = Conversation.objects.get()
    author = user_create(email="agent@clinic.example", password="pw-123456789")

    note = note_add(
        account=clinic.account,
        conversation=thread,
        author=author,
        text="Asked for a callback after 5 pm",
        actor="user:agent@clinic.example",
    )

    assert (note.author, note.text) == (author, "Asked for a callback after 5 pm")
    assert _items(thread) == [("call", call.id), ("note", note.id)]
    thread.refresh_from_db()
    assert thread.last_item.note_id == note.id and thread.unread_count == 1  # notes are not unread
    entry = AuditEntry.objects.order_by("-seq").first()
    assert (entry.actor, entry.action, entry.object_sid) == (
        "user:agent@clinic.example",
        "note.create",
        note.sid,
    )


def test_conversation_is_invisible_to_other_tenant_in_the_database(clinic: Tenant, tenant_b: Tenant) -> None:
    inbound_call(PATIENT, CLINIC)
    note_add(
        account=clinic.account, conversation=Conversation.objects.get(), author=None, text="x", actor="t"
    )

    tenant_activate(tenant_b.account.id)
    for model in (Contact, Conversation, Item, Note):
        assert not model.objects.exists(), model
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM conversations_item")
        assert cursor.fetchone()[0] == 0


def test_texts_both_ways_join_the_calls_thread_once_each(clinic: Tenant) -> None:
    call = inbound_call(PATIENT, CLINIC)
    question = text_in(PATIENT, CLINIC, "Can I move my appointment?")
    answer = text_out(clinic, CLINIC, PATIENT, "Yes: Tuesday at 4 pm")
    conversation_log_message(message=question)
    conversation_log_message(message=answer)

    thread = Conversation.objects.get()
    assert _items(thread) == [("call", call.id), ("message", question.id), ("message", answer.id)]
    assert thread.last_item.message_id == answer.id
    assert thread.unread_count == 2  # the inbound call and the inbound text


def test_texts_from_alphanumeric_senders_make_no_conversation(clinic: Tenant) -> None:
    text_in("PHARMACY", CLINIC, "Your order is ready")
    assert not Conversation.objects.exists()


def _copies_of(text: str) -> dict[str, int]:
    """Rows of every conversations table whose text form contains `text`."""
    found = {}
    with connection.cursor() as cursor:
        for model in (Contact, Conversation, Item, Note):
            table = model._meta.db_table
            cursor.execute(f"SELECT count(*) FROM {table} t WHERE t::text ILIKE %s", [f"%{text}%"])
            found[table] = cursor.fetchone()[0]
    return found


def test_a_redacted_body_leaves_no_copy_and_no_search_hit(clinic: Tenant) -> None:
    message = text_in(PATIENT, CLINIC, "Is the biopsy benign?")
    assert [
        i.message_id for i in item_search(account=clinic.account, text="biopsy", after=None, size=10).rows
    ] == [message.id]
    assert set(_copies_of("biopsy").values()) == {0}  # bodies are never copied, only referenced

    message_redact(message=message, actor="test")

    assert item_search(account=clinic.account, text="biopsy", after=None, size=10).rows == []
    assert set(_copies_of("biopsy").values()) == {0}
    [item] = Item.objects.select_related("message").filter(message=message)
    assert item.message.body == ""


def test_deleting_a_message_takes_it_out_of_the_timeline(clinic: Tenant) -> None:
    call = inbound_call(PATIENT, CLINIC)
    message = text_in(PATIENT, CLINIC, "Thanks!")

    message_delete(message=message, actor="test")

    thread = Conversation.objects.get()
    assert _items(thread) == [("call", call.id)] and thread.last_item is None
