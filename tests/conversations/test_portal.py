"""Portal inbox and conversation pages: order, timeline, notes, roles, paging, isolation, query counts."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from compliance.models import AuditEntry
from conversations import views
from conversations.models import Conversation, Note
from conversations.services import note_add
from core.tenancy import tenant_activate
from messaging.models import Message
from tenants.models import Role
from tenants.services import membership_add, user_create
from tests.conftest import Tenant
from tests.conversations.factories import inbound_call, number, recording, text_in, text_out
from voice.call_state import call_finish, call_status_set

CLINIC, PATIENT, OTHER_PATIENT = "+12025550100", "+14155550123", "+14155550188"


def _signed_in(tenant: Tenant, role: Role) -> Client:
    email = f"{role}@{tenant.account.friendly_name.split()[-1].lower()}.example"
    tenant_activate(tenant.account.id)
    user = user_create(email=email, password="pw-123456789")
    membership_add(account=tenant.account, user=user, role=role, actor="test")
    client = Client()
    assert client.post("/login/", {"email": email, "password": "pw-123456789"}).status_code == 302
    return client


@pytest.fixture
def clinic(tenant_a: Tenant) -> Tenant:
    number(tenant_a, CLINIC)
    return tenant_a


def _thread(tenant: Tenant, contact: str = PATIENT) -> Conversation:
    tenant_activate(tenant.account.id)
    return Conversation.objects.get(contact__phone_number=contact)


def test_inbox_needs_sign_in(db: None) -> None:
    response = Client().get("/inbox/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/inbox/"


def test_inbox_lists_threads_by_latest_activity_with_unread_and_preview(clinic: Tenant) -> None:
    inbound_call(PATIENT, CLINIC)
    inbound_call(OTHER_PATIENT, CLINIC)
    tenant_activate(clinic.account.id)
    note_add(
        account=clinic.account,
        conversation=_thread(clinic),
        author=None,
        text="Asked about a refill",
        actor="t",
    )
    client = _signed_in(clinic, Role.SUPERVISOR)

    page = client.get("/inbox/").content.decode()

    assert 'href="/inbox/"' in page  # the nav link
    assert page.index(PATIENT) < page.index(OTHER_PATIENT)
    row = page[page.index(PATIENT) : page.index(OTHER_PATIENT)]
    assert "Note:</span> Asked about a refill" in row and '<span class="badge"' in row
    assert "Incoming call · ringing" in page[page.index(OTHER_PATIENT) :]


def test_the_unread_filter_shows_only_threads_with_something_unread_and_pages_within_them(
    clinic: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    text_in(PATIENT, CLINIC, "Can I move my appointment?")
    for n in range(3):  # an alert's threads: texts out, nothing unread
        text_out(clinic, CLINIC, f"+1415555017{n}", "School is closed today")
    text_in(OTHER_PATIENT, CLINIC, "Is the school closed?")
    monkeypatch.setattr(views, "PAGE_SIZE", 1)
    client = _signed_in(clinic, Role.SUPERVISOR)

    first = client.get("/inbox/?show=unread").content.decode()
    assert OTHER_PATIENT in first and PATIENT not in first and "+14155550170" not in first
    assert '<strong aria-current="page">Unread</strong>' in first
    older = first.split('hx-get="')[-1].split('"')[0].replace("&amp;", "&")
    assert older.startswith("/inbox/?show=unread&before=")
    second = client.get(older).content.decode()
    assert PATIENT in second and OTHER_PATIENT not in second and "+14155550172" not in second
    assert "Older →" not in second
    everything = client.get("/inbox/").content.decode()
    assert '<strong aria-current="page">All</strong>' in everything and OTHER_PATIENT in everything
    next_of_all = everything.split('hx-get="')[-1].split('"')[0].replace("&amp;", "&")
    assert "+14155550172" in client.get(next_of_all).content.decode()  # the alert's threads are in All


def test_thread_interleaves_calls_recordings_and_notes_and_marks_it_read(clinic: Tenant) -> None:
    call = inbound_call(PATIENT, CLINIC)
    call_status_set(account_id=call.account_id, call_id=call.id, status="in-progress")
    voicemail = recording(call)
    call_finish(account_id=call.account_id, call_id=call.id)
    tenant_activate(clinic.account.id)
    conversation = _thread(clinic)
    note_add(account=clinic.account, conversation=conversation, author=None, text="Called back", actor="t")
    client = _signed_in(clinic, Role.SUPERVISOR)

    page = client.get(f"/inbox/{conversation.sid}/").content.decode()

    timeline = page[page.index('id="timeline"') :]
    steps = [f'href="/calls/{call.sid}/"', f'src="/calls/recordings/{voicemail.sid}.wav"', "Called back"]
    assert [timeline.index(step) for step in steps] == sorted(timeline.index(step) for step in steps)
    assert "Incoming call · completed · 0 s" in timeline
    assert '<audio controls preload="none"' in timeline and "Note by the API" in timeline
    conversation.refresh_from_db()
    assert conversation.unread_count == 0


def test_texts_are_bubbles_on_their_sides_between_calls(clinic: Tenant) -> None:
    text_in(PATIENT, CLINIC, "Is the clinic open on Saturday?")
    call = inbound_call(PATIENT, CLINIC)
    text_out(clinic, CLINIC, PATIENT, "Yes, 9 to 12")
    client = _signed_in(clinic, Role.SUPERVISOR)

    page = client.get(f"/inbox/{_thread(clinic).sid}/").content.decode()

    timeline = page[page.index('id="timeline"') :]
    question = timeline.index('item-message in">')
    assert timeline.index('<div class="bubble">Is the clinic open on Saturday?</div>') > question
    assert question < timeline.index(f'href="/calls/{call.sid}/"') < timeline.index('item-message out">')
    assert timeline.index('item-message out">') < timeline.index("Yes, 9 to 12")
    inbox = client.get("/inbox/").content.decode()
    assert '<span class="muted">You:</span> Yes, 9 to 12' in inbox


def test_the_reply_box_texts_the_contact_from_the_conversations_number(clinic: Tenant) -> None:
    text_in(PATIENT, CLINIC, "Can I get a reminder?")
    conversation = _thread(clinic)
    client = _signed_in(clinic, Role.SUPERVISOR)

    fragment = client.post(
        f"/inbox/{conversation.sid}/reply/", {"body": "Reminder set for Monday"}, HTTP_HX_REQUEST="true"
    ).content.decode()

    assert fragment.index("Can I get a reminder?") < fragment.index("Reminder set for Monday")
    tenant_activate(clinic.account.id)
    reply = Message.objects.get(direction="outbound-api")
    assert (reply.from_number, reply.to_number, reply.body, reply.status) == (
        CLINIC,
        PATIENT,
        "Reminder set for Monday",
        "queued",
    )
    entry = AuditEntry.objects.get(action="message.create", object_sid=reply.sid)
    assert entry.actor == "user:supervisor@a.example"
    plain = client.post(f"/inbox/{conversation.sid}/reply/", {"body": "And a second one"})
    assert plain.status_code == 302 and plain["Location"] == f"/inbox/{conversation.sid}/"


@pytest.mark.parametrize(("body", "error"), [("", "This field is required"), ("x" * 1601, "at most 1600")])
def test_a_bad_reply_is_refused_with_the_form_error(clinic: Tenant, body: str, error: str) -> None:
    text_in(PATIENT, CLINIC, "Hello")
    client = _signed_in(clinic, Role.SUPERVISOR)

    fragment = client.post(f"/inbox/{_thread(clinic).sid}/reply/", {"body": body}, HTTP_HX_REQUEST="true")

    assert error in fragment.content.decode()
    tenant_activate(clinic.account.id)
    assert not Message.objects.exclude(direction="inbound").exists()


def test_a_reply_to_an_opted_out_contact_is_refused_with_twilios_reason(clinic: Tenant) -> None:
    text_in(PATIENT, CLINIC, "STOP")
    client = _signed_in(clinic, Role.SUPERVISOR)
    tenant_activate(clinic.account.id)
    before = Message.objects.count()  # the STOP and its one confirmation

    fragment = client.post(
        f"/inbox/{_thread(clinic).sid}/reply/", {"body": "Are you sure?"}, HTTP_HX_REQUEST="true"
    )

    assert "(21610)" in fragment.content.decode()
    tenant_activate(clinic.account.id)
    assert Message.objects.count() == before


def test_adding_a_note_in_the_portal_is_audited_and_shown(clinic: Tenant) -> None:
    inbound_call(PATIENT, CLINIC)
    conversation = _thread(clinic)
    client = _signed_in(clinic, Role.SUPERVISOR)
    url = f"/inbox/{conversation.sid}/notes/"

    plain = client.post(url, {"text": "Prefers texts"})
    fragment = client.post(url, {"text": "Confirmed Tuesday"}, HTTP_HX_REQUEST="true").content.decode()

    assert plain.status_code == 302 and plain["Location"] == f"/inbox/{conversation.sid}/"
    assert fragment.lstrip().startswith('<div id="thread">') and "<html" not in fragment
    assert fragment.index("Prefers texts") < fragment.index("Confirmed Tuesday")
    assert "Note by supervisor@a.example" in fragment
    tenant_activate(clinic.account.id)
    assert [n.author.email for n in Note.objects.order_by("date_created")] == ["supervisor@a.example"] * 2
    actions = AuditEntry.objects.filter(action="note.create").values_list("actor", flat=True)
    assert list(actions) == ["user:supervisor@a.example"] * 2


def test_naming_the_contact_shows_the_name_in_the_inbox_and_thread(clinic: Tenant) -> None:
    inbound_call(PATIENT, CLINIC)
    conversation = _thread(clinic)
    client = _signed_in(clinic, Role.SUPERVISOR)

    response = client.post(f"/inbox/{conversation.sid}/contact/", {"name": "Grace Hopper"})

    assert response.status_code == 302 and response["Location"] == f"/inbox/{conversation.sid}/"
    assert "<h1>Grace Hopper</h1>" in client.get(response["Location"]).content.decode()
    assert ">Grace Hopper</a>" in client.get("/inbox/").content.decode()
    tenant_activate(clinic.account.id)
    assert AuditEntry.objects.filter(action="contact.update").count() == 1


def test_an_empty_note_is_refused_with_the_form_error(clinic: Tenant) -> None:
    inbound_call(PATIENT, CLINIC)
    conversation = _thread(clinic)
    client = _signed_in(clinic, Role.SUPERVISOR)

    fragment = client.post(f"/inbox/{conversation.sid}/notes/", {"text": "   "}, HTTP_HX_REQUEST="true")

    assert 'class="errorlist' in fragment.content.decode()
    tenant_activate(clinic.account.id)
    assert not Note.objects.exists()


def test_auditors_read_but_do_not_write_and_agents_see_nothing(clinic: Tenant) -> None:
    inbound_call(PATIENT, CLINIC)
    conversation = _thread(clinic)
    auditor, agent = _signed_in(clinic, Role.AUDITOR), _signed_in(clinic, Role.AGENT)

    page = auditor.get(f"/inbox/{conversation.sid}/").content.decode()
    assert PATIENT in page and "Add note" not in page
    assert auditor.post(f"/inbox/{conversation.sid}/notes/", {"text": "x"}).status_code == 403
    assert auditor.post(f"/inbox/{conversation.sid}/reply/", {"body": "x"}).status_code == 403
    assert auditor.post(f"/inbox/{conversation.sid}/contact/", {"name": "x"}).status_code == 403
    assert agent.get("/inbox/").status_code == 403
    assert agent.get(f"/inbox/{conversation.sid}/").status_code == 403
    tenant_activate(clinic.account.id)
    assert not Note.objects.exists()


def test_conversation_pages_are_invisible_to_other_tenant(clinic: Tenant, tenant_b: Tenant) -> None:
    inbound_call(PATIENT, CLINIC)
    conversation = _thread(clinic)
    other = _signed_in(tenant_b, Role.SUPERVISOR)

    assert PATIENT not in other.get("/inbox/").content.decode()
    assert other.get(f"/inbox/{conversation.sid}/").status_code == 404
    assert other.post(f"/inbox/{conversation.sid}/notes/", {"text": "x"}).status_code == 404
    assert other.post(f"/inbox/{conversation.sid}/reply/", {"body": "x"}).status_code == 404
    assert other.post(f"/inbox/{conversation.sid}/contact/", {"name": "x"}).status_code == 404
    assert other.get("/inbox/CVnot-a-sid/").status_code == 404
    tenant_activate(clinic.account.id)
    assert not Note.objects.exists()


def test_earlier_pages_of_a_long_thread(clinic: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    inbound_call(PATIENT, CLINIC)
    conversation = _thread(clinic)
    for n in range(3):
        note_add(account=clinic.account, conversation=conversation, author=None, text=f"note {n}", actor="t")
    client = _signed_in(clinic, Role.SUPERVISOR)

    latest = client.get(f"/inbox/{conversation.sid}/")
    assert "note 1" in latest.content.decode() and "note 2" in latest.content.decode()
    earlier = client.get(latest.context["timeline"].earlier_url, HTTP_HX_REQUEST="true").content.decode()
    assert "Incoming call" in earlier and "note 0" in earlier and "note 2" not in earlier
    assert "Latest ↓" in earlier


def test_page_query_counts_do_not_grow_with_threads_or_items(clinic: Tenant) -> None:
    client = _signed_in(clinic, Role.SUPERVISOR)

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    recording(inbound_call(PATIENT, CLINIC))
    conversation = _thread(clinic)
    inbox, thread = queries("/inbox/"), queries(f"/inbox/{conversation.sid}/")
    for n in range(6):
        recording(inbound_call(f"+1415555019{n}", CLINIC))
        recording(inbound_call(PATIENT, CLINIC))
        text_in(PATIENT, CLINIC, f"text {n}")
        text_out(clinic, CLINIC, PATIENT, f"reply {n}")
        note_add(account=clinic.account, conversation=conversation, author=None, text=f"n{n}", actor="t")
    assert queries("/inbox/") == inbox
    assert queries(f"/inbox/{conversation.sid}/") == thread
