"""The bulk alerts pages in-process: the nav entry, the form (pasted or uploaded recipients, the class
rules), a bulk's page with its counts and recipients (filter, pager), cancel, roles and isolation."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.test import Client

from compliance.models import AuditEntry
from core.tenancy import tenant_activate
from messaging.bulk import views as bulk_views
from messaging.handover import message_claim
from messaging.models import Bulk, ConsentState, Message
from numbering.models import IncomingPhoneNumber
from numbering.services import number_delete
from tenants.models import Role
from tenants.services import membership_add, user_create
from tests.conftest import Tenant
from tests.messaging.conftest import SENDER
from tests.messaging.test_bulk import BODY, THREAT, create, students


def signed_in(tenant: Tenant, role: Role) -> Client:
    email = f"{role}@{tenant.account.friendly_name.split()[-1].lower()}.example"
    tenant_activate(tenant.account.id)
    user = user_create(email=email, password="pw-123456789")
    membership_add(account=tenant.account, user=user, role=role, actor="test")
    client = Client()
    assert client.post("/login/", {"email": email, "password": "pw-123456789"}).status_code == 302
    return client


def form(**fields: object) -> dict[str, object]:
    return {
        "from_number": SENDER,
        "message_class": "emergency",
        "threat_basis": THREAT,
        "body": BODY,
        "recipients": "\n".join(students(3)),
        **fields,
    }


def test_the_nav_leads_to_the_form_with_the_accounts_numbers(
    tenant_a: Tenant, sender: IncomingPhoneNumber
) -> None:
    client = signed_in(tenant_a, Role.SUPERVISOR)
    page = client.get("/bulk/").content.decode()
    assert '<a href="/bulk/">Bulk alerts</a>' in page
    assert f'<option value="{SENDER}">{SENDER}</option>' in page
    assert 'enctype="multipart/form-data"' in page and "No bulk alerts yet." in page


def confirmation_of(page: str) -> tuple[str, str]:
    """The confirming form's action and token on a confirmation page."""
    form_html = page.split('<div class="card" id="confirmation">')[1]
    action = form_html.split('<form method="post" action="')[1].split('"')[0]
    token = form_html.split('name="confirm" value="')[1].split('"')[0]
    return action, token


def send(client: Client, fields: dict[str, object]) -> HttpResponse:
    """Fill in the form, then confirm what the confirmation page says."""
    asked = client.post("/bulk/", fields)
    assert asked.status_code == 200, asked.content
    action, token = confirmation_of(asked.content.decode())
    return client.post(action, {"confirm": token})  # type: ignore[return-value]


def test_an_alert_is_sent_only_once_its_confirmation_is_confirmed(
    tenant_a: Tenant, sender: IncomingPhoneNumber
) -> None:
    """The confirmation names what will go out: recipients after duplicates, invalid numbers and
    opt-outs, segments per text and in all, the class; nothing is sent before its confirming POST,
    and that POST sends once however often it comes."""
    ConsentState.objects.create(
        account=tenant_a.account, sender=SENDER, recipient=students(3)[2], is_opted_out=True
    )
    client = signed_in(tenant_a, Role.SUPERVISOR)
    given = [*students(3), students(1)[0], "nope"]  # 3 valid, a duplicate, one invalid; one opted out
    body = "Early dismissal at 13:00 today. " * 6  # 192 GSM-7 characters: 2 segments

    asked = client.post("/bulk/", form(recipients="\n".join(given), body=body)).content.decode()

    assert "<h1>Send this alert to 2 recipients?</h1>" in asked
    assert (
        f"From {SENDER} to 2 recipients. Of the 5 numbers given, 1 duplicate, 1 not valid and 1 opted out "
        "are not sent." in asked
    )
    assert "2 segments per text (GSM-7), 4 in all." in asked
    assert (
        "Class: emergency. Sent without prior consent, for health or safety; the threat basis goes in the "
        f"audit log: {THREAT}" in asked
    )
    assert "Send to 2 recipients</button>" in asked
    tenant_activate(tenant_a.account.id)
    assert not Bulk.objects.exists()

    action, token = confirmation_of(asked)
    shown_again = client.get(action).content.decode()
    one_click = client.post(action)
    another_token = client.post(action, {"confirm": token + "x"})
    tenant_activate(tenant_a.account.id)
    assert not Bulk.objects.exists()
    assert "<h1>Send this alert to 2 recipients?</h1>" in shown_again
    assert one_click.status_code == 200 and another_token.status_code == 200

    first = client.post(action, {"confirm": token})
    again = client.post(action, {"confirm": token})  # a second click, or back and resend

    tenant_activate(tenant_a.account.id)
    bulk = Bulk.objects.get()
    assert first["Location"] == again["Location"] == f"/bulk/{bulk.sid}/"
    assert (bulk.num_messages, bulk.num_segments, bulk.message_class) == (2, 2, "emergency")


def test_an_alert_whose_sender_was_released_meanwhile_is_not_sent(
    tenant_a: Tenant, sender: IncomingPhoneNumber
) -> None:
    client = signed_in(tenant_a, Role.SUPERVISOR)
    action, token = confirmation_of(client.post("/bulk/", form()).content.decode())
    tenant_activate(tenant_a.account.id)
    number_delete(number=sender, actor="test")

    refused = client.post(action, {"confirm": token}).content.decode()

    assert '<p class="error" role="alert">This alert was not sent: ' in refused and "(21606)" in refused
    tenant_activate(tenant_a.account.id)
    assert not Bulk.objects.exists()


def test_a_confirmation_is_its_senders_alone(tenant_a: Tenant, sender: IncomingPhoneNumber) -> None:
    supervisor = signed_in(tenant_a, Role.SUPERVISOR)
    action, token = confirmation_of(
        supervisor.post("/bulk/", form(message_class="school-mission", threat_basis="")).content.decode()
    )
    colleague = signed_in(tenant_a, Role.DEVELOPER)
    auditor = signed_in(tenant_a, Role.AUDITOR)

    taken = colleague.post(action, {"confirm": token}).content.decode()

    assert "This alert was not sent: its confirmation has expired. Fill in the form again." in taken
    assert auditor.post(action, {"confirm": token}).status_code == 403
    tenant_activate(tenant_a.account.id)
    assert not Bulk.objects.exists()


def test_the_form_makes_the_sender_choose_the_class(tenant_a: Tenant, sender: IncomingPhoneNumber) -> None:
    """Nothing is preselected: a browser shows the first option of a select without one, and
    emergency (sent without prior consent) must never be what a form fell back to."""
    client = signed_in(tenant_a, Role.SUPERVISOR)
    page = client.get("/bulk/").content.decode()
    select = page.split('<select name="message_class"')[1].split("</select>")[0]
    assert select.count("<option") == 4 and '<option value="" selected>Choose a class</option>' in select
    assert '<option value="emergency">Emergency</option>' in select

    unchosen = client.post("/bulk/", form(message_class="")).content.decode()

    assert "This field is required." in unchosen.split('<select name="message_class"')[1]
    tenant_activate(tenant_a.account.id)
    assert not Bulk.objects.exists()


def test_sending_from_the_form_shows_the_bulks_page(tenant_a: Tenant, sender: IncomingPhoneNumber) -> None:
    client = signed_in(tenant_a, Role.SUPERVISOR)

    response = send(client, form(recipients=f"{students(1)[0]}, {students(1)[0]}\n{students(2)[1]}\nnope"))

    tenant_activate(tenant_a.account.id)
    bulk = Bulk.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/bulk/{bulk.sid}/"
    assert (bulk.num_requested, bulk.num_messages, bulk.num_duplicates, bulk.num_invalid) == (4, 2, 1, 1)
    assert AuditEntry.objects.get(action="bulk.create").actor == "user:supervisor@a.example"
    page = client.get(response["Location"]).content.decode()
    assert f'data-socket="/ws/bulks/{bulk.sid}/"' in page
    assert (
        '<progress id="bulk-progress" max="100" value="0"' in page
        and '<strong id="bulk-percent">0 %</strong>' in page
    )
    assert '<td data-count="num_queued">2</td>' in page
    assert "4 recipients given: 1 duplicates, 1 invalid and 0 opted out were not sent." in page
    assert page.count("<td>queued</td>") == 2 and "nope" in page
    assert f"<strong>Threat basis:</strong> {THREAT}" in page
    assert "Cancel what has not been sent" in page
    listed = client.get("/bulk/").content.decode()
    assert f'href="/bulk/{bulk.sid}/"' in listed and "<td>0 %</td>" in listed


def test_an_uploaded_csv_file_is_the_list(tenant_a: Tenant, sender: IncomingPhoneNumber) -> None:
    client = signed_in(tenant_a, Role.SUPERVISOR)
    roster = b"name,mobile\nAda,+14155550100\nBo,+14155550101\n"
    response = send(
        client,
        form(
            recipients="", message_class="school-mission", recipients_file=SimpleUploadedFile("r.csv", roster)
        ),
    )
    assert response.status_code == 302
    tenant_activate(tenant_a.account.id)
    assert sorted(Message.objects.values_list("to_number", flat=True)) == ["+14155550100", "+14155550101"]


def test_refused_input_is_shown_in_the_form(tenant_a: Tenant, sender: IncomingPhoneNumber) -> None:
    client = signed_in(tenant_a, Role.SUPERVISOR)
    no_basis = client.post("/bulk/", form(threat_basis="")).content.decode()
    assert "an emergency alert must record the threat it answers (20001)" in no_basis
    nobody = client.post("/bulk/", form(recipients="  \n")).content.decode()
    assert "Give at least one recipient, or upload a CSV file." in nobody
    binary = client.post(
        "/bulk/", form(recipients_file=SimpleUploadedFile("r.csv", b"\xff\xfe\x00"))
    ).content.decode()
    assert "not a UTF-8 CSV file" in binary
    tenant_activate(tenant_a.account.id)
    assert not Bulk.objects.exists()


def test_recipients_filter_and_page_with_htmx(
    tenant_a: Tenant, sender: IncomingPhoneNumber, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk_views, "PAGE_SIZE", 2)
    bulk = create(tenant_a, students(5))
    first = Message.objects.filter(bulk=bulk).order_by("to_number").first()
    assert first is not None
    message_claim(account_id=tenant_a.account.id, message_ids=[first.id], gateway="gw")
    client = signed_in(tenant_a, Role.AUDITOR)

    page = client.get(f"/bulk/{bulk.sid}/", HTTP_HX_REQUEST="true").content.decode()
    assert page.startswith('<div id="recipients"') and page.count('<td class="mono">') == 2
    assert "Cancel" not in page
    next_url = page.split('<a href="')[-1].split('"')[0].replace("&amp;", "&")
    rest = client.get(next_url, HTTP_HX_REQUEST="true").content.decode()
    assert students(5)[2] in rest and students(5)[0] not in rest
    sending = client.get(f"/bulk/{bulk.sid}/?status=sending", HTTP_HX_REQUEST="true").content.decode()
    assert sending.count('<td class="mono">') == 1 and first.to_number in sending


def test_cancel_from_the_page(tenant_a: Tenant, sender: IncomingPhoneNumber) -> None:
    bulk = create(tenant_a, students(3))
    client = signed_in(tenant_a, Role.SUPERVISOR)
    response = client.post(f"/bulk/{bulk.sid}/cancel/")
    assert response.status_code == 302
    bulk.refresh_from_db()
    assert (bulk.status, bulk.num_canceled) == ("canceled", 3)
    assert "Cancel what has not been sent" not in client.get(f"/bulk/{bulk.sid}/").content.decode()


def test_auditors_read_but_do_not_send_and_agents_see_nothing(
    tenant_a: Tenant, sender: IncomingPhoneNumber
) -> None:
    bulk = create(tenant_a, students(2))
    auditor = signed_in(tenant_a, Role.AUDITOR)
    page = auditor.get("/bulk/").content.decode()
    assert "New alert" not in page and f"/bulk/{bulk.sid}/" in page
    assert auditor.post("/bulk/", form()).status_code == 403
    assert auditor.post(f"/bulk/{bulk.sid}/cancel/").status_code == 403
    agent = signed_in(tenant_a, Role.AGENT)
    assert agent.get("/bulk/").status_code == 403


def test_bulk_page_is_invisible_to_other_tenant(
    tenant_a: Tenant, tenant_b: Tenant, sender: IncomingPhoneNumber
) -> None:
    bulk = create(tenant_a, students(2))
    other = signed_in(tenant_b, Role.SUPERVISOR)
    assert other.get(f"/bulk/{bulk.sid}/").status_code == 404
    assert other.post(f"/bulk/{bulk.sid}/cancel/").status_code == 404
    assert bulk.sid not in other.get("/bulk/").content.decode()
