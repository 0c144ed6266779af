"""The agent console's pages and services on the real engine, in the test's transaction: a member
with no worker gets a page saying so; an admin links a member to a worker; a text task offered to
the agent pops the customer's history (an AI hand-off's summary first), is accepted, answered
(the reply is a queued outbound message in the thread) and wrapped up (a note in the timeline,
entries in the audit chain, the task completed, the worker moved); a rejecter goes to the activity
chosen and is never offered the same task again; another worker's reservation is not found; a
wrap-up without a known disposition changes nothing."""

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from compliance.models import AuditEntry
from contactcenter.console_live import _Pushes, worker_group
from contactcenter.console_sessions import console_closed_check
from contactcenter.taskrouter.models import NumberRouting, Reservation, Task, TaskChannel, Worker, Workflow
from contactcenter.taskrouter.task_lifecycle import task_create
from contactcenter.taskrouter.workers import worker_update
from conversations.models import Conversation, Item, Note
from messaging.carriers.base import InboundSms
from messaging.inbound import message_receive
from messaging.models import Message
from numbering.models import IncomingPhoneNumber
from tenants.models import Membership, Role
from tests.conftest import Tenant
from tests.contactcenter.taskrouter.factories import Setup, make_workspace
from tests.contactcenter.taskrouter.test_portal import signed_in
from tests.conversations.factories import inbound_call, number, recording, text_in

CLINIC = "+14155550190"
PATIENT = "+14155550191"


@pytest.fixture
def desk(tenant_a: Tenant) -> Setup:
    setup = make_workspace(tenant_a.account)
    queue = setup.queue("Everyone")
    setup.workflow({"filters": [], "default_filter": {"queue": queue.sid}})
    number(tenant_a, CLINIC)
    return setup


def agent(tenant: Tenant, setup: Setup, name: str = "Alice") -> tuple[Client, Worker]:
    """A signed-in agent who works as worker `name`, available."""
    client = signed_in(tenant, Role.AGENT)
    worker = setup.worker(name)
    worker.member = Membership.objects.get(account=tenant.account, role=Role.AGENT)
    worker.save(update_fields=["member"])
    return client, worker


def text_task(setup: Setup, sender: str = PATIENT, **extra: object) -> Task:
    """The sender's earlier text, then a task for their conversation (as text_routing makes one)."""
    text_in(sender, CLINIC, "Is my prescription ready?")
    conversation = Conversation.objects.get(contact__phone_number=sender)
    attributes = {
        "channel": "sms",
        "from": sender,
        "to": CLINIC,
        "conversation_sid": conversation.sid,
        **extra,
    }
    return task_create(
        workspace=setup.workspace,
        workflow_sid=_workflow_sid(setup),
        attributes=json.dumps(attributes),
        priority=None,
        timeout=None,
        task_channel="sms",
    )


def offered(tenant: Tenant, setup: Setup) -> tuple[Client, Task, Reservation]:
    """Alice's console, and a text task the routing pass has just offered her."""
    client, _ = agent(tenant, setup)
    task = text_task(setup)
    setup.route()
    return client, task, Reservation.objects.get(task=task)


def _workflow_sid(setup: Setup) -> str:
    return Workflow.objects.get(workspace=setup.workspace).sid


def post(client: Client, path: str, **data: str) -> dict:  # type: ignore[type-arg]
    response = client.post(path, data)
    body = response.json()
    body["http_status"] = response.status_code
    return body  # type: ignore[no-any-return]


def test_a_member_with_no_worker_is_told_so(tenant_a: Tenant) -> None:
    client = signed_in(tenant_a, Role.AGENT)
    response = client.get("/console/")
    assert response.status_code == 404
    assert b"You do not work as a worker" in response.content


def test_an_admin_links_a_member_to_a_worker_on_its_form(tenant_a: Tenant, desk: Setup) -> None:
    worker = desk.worker("Alice")
    client = signed_in(tenant_a, Role.SUPERVISOR)
    member = Membership.objects.get(account=tenant_a.account, role=Role.SUPERVISOR)
    form = {"friendly_name": "Alice", "contact_uri": "", "attributes": "{}", "member": str(member.id)}
    path = f"/routing/{desk.workspace.sid}/workers/{worker.sid}/"
    assert client.post(path, form).status_code == 302
    worker.refresh_from_db()
    assert worker.member_id == member.id
    assert AuditEntry.objects.filter(action="taskrouter.worker.member.set", object_sid=worker.sid).exists()
    assert client.get("/console/").status_code == 200


def test_the_pop_reads_newest_first(tenant_a: Tenant, desk: Setup) -> None:
    """What just happened at the top, where the agent looks first, not below a long history's fold."""
    client, _ = agent(tenant_a, desk)
    text_in(PATIENT, CLINIC, "Last week: can I move my appointment?")
    Item.objects.update(occurred_at=timezone.now() - timedelta(days=7))
    text_task(desk)  # today's "Is my prescription ready?"
    desk.route()
    (offer,) = client.get("/console/").context["state"]["reservations"]
    pop = offer["history_html"]
    assert pop.index("Is my prescription ready?") < pop.index("Last week: can I move my appointment?")


def test_a_text_task_pops_history_is_answered_and_wrapped_up(tenant_a: Tenant, desk: Setup) -> None:
    client, alice = agent(tenant_a, desk)
    task = text_task(desk, summary="Wants a refill of lisinopril", transcript=["bot: How can I help?"])
    assert desk.offered() == 1
    reservation = Reservation.objects.get(task=task)

    page = client.get("/console/")
    (offer,) = page.context["state"]["reservations"]
    assert (offer["sid"], offer["status"], offer["channel"]) == (reservation.sid, "pending", "sms")
    pop = offer["history_html"]
    assert pop.index("Wants a refill of lisinopril") < pop.index("Is my prescription ready?")
    assert "bot: How can I help?" in pop

    state = post(client, f"/console/reservations/{reservation.sid}/accept/")
    assert state["reservations"][0]["status"] == "accepted"
    state = post(client, f"/console/reservations/{reservation.sid}/reply/", body="Yes, ready at noon")
    reply = Message.objects.get(direction="outbound-api")
    assert (reply.to_number, reply.from_number, reply.body) == (PATIENT, CLINIC, "Yes, ready at noon")
    assert reply.status == "queued"

    state = post(
        client,
        f"/console/reservations/{reservation.sid}/wrapup/",
        disposition="Resolved",
        notes="Told them noon",
        activity_sid=desk.unavailable.sid,
    )
    assert state["http_status"] == 200 and state["reservations"] == []
    assert state["recent"][0]["task_sid"] == task.sid and state["recent"][0]["status"] == "completed"
    task.refresh_from_db()
    alice.refresh_from_db()
    assert (task.status, alice.activity_id) == ("completed", desk.unavailable.id)
    note = Note.objects.get(text__startswith="Wrap-up")
    assert note.text == "Wrap-up by Alice: Resolved\nTold them noon"
    assert note.conversation.contact.phone_number == PATIENT
    agent_actions = AuditEntry.objects.filter(actor__startswith="user:agent@").exclude(
        action="user.login.password"
    )
    assert list(agent_actions.order_by("id").values_list("action", flat=True)) == [
        "taskrouter.reservation.update",  # accepted
        "message.create",  # the reply
        "note.create",  # the wrap-up, in the timeline
        "taskrouter.reservation.update",  # completed
        "console.wrapup",
        "taskrouter.worker.update",  # to the activity chosen
    ]
    wrapup = AuditEntry.objects.get(action="console.wrapup")
    assert wrapup.object_sid == reservation.sid


def test_a_rejecter_moves_to_the_activity_chosen_and_is_never_offered_the_task_again(
    tenant_a: Tenant, desk: Setup
) -> None:
    client, task, reservation = offered(tenant_a, desk)
    state = post(client, f"/console/reservations/{reservation.sid}/reject/", activity_sid=desk.available.sid)
    assert state["worker"]["activity_sid"] == desk.available.sid and state["reservations"] == []
    for _ in range(3):  # available, free, and still never offered it again
        desk.route()
    assert list(Reservation.objects.filter(task=task).values_list("status", flat=True)) == ["rejected"]
    task.refresh_from_db()
    assert task.status == "pending"
    entry = AuditEntry.objects.get(action="taskrouter.reservation.update", object_sid=reservation.sid)
    assert entry.actor.startswith("user:agent@")


def test_reject_without_an_activity_moves_the_worker_to_the_workspace_default(
    tenant_a: Tenant, desk: Setup
) -> None:
    client, _, reservation = offered(tenant_a, desk)
    state = post(client, f"/console/reservations/{reservation.sid}/reject/")
    assert state["worker"]["activity_sid"] == desk.offline.sid  # the workspace's default activity


def test_another_workers_reservation_is_not_found_and_a_bad_wrap_up_changes_nothing(
    tenant_a: Tenant, desk: Setup
) -> None:
    client, alice = agent(tenant_a, desk)
    bob = desk.worker("Bob")
    desk.capacity(alice, "sms", 0)
    task = text_task(desk)
    desk.route()
    theirs = Reservation.objects.get(task=task, worker=bob)
    refused = post(client, f"/console/reservations/{theirs.sid}/accept/")
    assert (refused["http_status"], refused["code"]) == (404, 20404)
    theirs.refresh_from_db()
    assert theirs.status == "pending"

    desk.capacity(alice, "sms", 1)
    reservation_for_alice = _accepted_for(desk, alice, client)
    bad = post(client, f"/console/reservations/{reservation_for_alice.sid}/wrapup/", disposition="Nope")
    assert (bad["http_status"], bad["code"]) == (400, 20001) and "Resolved" in bad["message"]
    reservation_for_alice.refresh_from_db()
    assert (
        reservation_for_alice.status == "accepted"
        and not Note.objects.filter(text__startswith="Wrap").exists()
    )


def _accepted_for(setup: Setup, worker: Worker, client: Client) -> Reservation:
    task = text_task(setup, sender="+14155550192")
    setup.route()
    reservation = Reservation.objects.get(task=task, worker=worker)
    post(client, f"/console/reservations/{reservation.sid}/accept/")
    reservation.refresh_from_db()
    return reservation


def test_a_routing_pass_pushes_its_offers_to_consoles_in_one_hook_and_none_for_api_workers(
    tenant_a: Tenant, desk: Setup, django_capture_on_commit_callbacks: Any
) -> None:
    """The texts came in while nobody had room for one; the pass after room is made offers them."""
    _, alice = agent(tenant_a, desk)
    bob = desk.worker("Bob")  # no portal member: nothing is pushed for his offers
    for worker in (alice, bob):
        desk.capacity(worker, "sms", 0)
    for _ in range(3):
        text_task(desk)
    desk.capacity(alice, "sms", 2)
    desk.capacity(bob, "sms", 1)
    with django_capture_on_commit_callbacks() as hooks:
        assert desk.route().reservations == 3
    (pushes,) = [hook for hook in hooks if isinstance(hook, _Pushes)]
    rings = [message for _, message in pushes.messages if message["type"] == "console.ring"]
    alices = Reservation.objects.filter(worker=alice).values_list("id", flat=True)
    assert len(rings) == len(alices) == 2
    assert {ring["reservation_sid"] for ring in rings} == {f"WR{pk.hex}" for pk in alices}
    assert {group for group, _ in pushes.messages} == {worker_group(alice.id)}


def test_a_supervisor_sets_the_wrap_up_codes_agents_choose_from(tenant_a: Tenant, desk: Setup) -> None:
    client = signed_in(tenant_a, Role.SUPERVISOR)
    path = f"/routing/{desk.workspace.sid}/dispositions/"
    assert "Resolved\nFollow-up needed" in client.get(path).context["form"].initial["codes"]
    assert client.post(path, {"codes": "Sold\n\n  Not interested \nSold"}).status_code == 302
    desk.workspace.refresh_from_db()
    assert desk.workspace.disposition_codes == ["Sold", "Not interested"]
    entry = AuditEntry.objects.get(action="taskrouter.workspace.update", object_sid=desk.workspace.sid)
    assert entry.actor.startswith("user:supervisor@")
    refused = client.post(path, {"codes": "x" * 65})
    assert refused.status_code == 200 and "64 characters" in refused.content.decode()
    agent_client, _ = agent(tenant_a, desk)
    assert agent_client.get(path).status_code == 403


def test_a_customers_new_text_refreshes_the_console_holding_their_task(
    tenant_a: Tenant, desk: Setup, django_capture_on_commit_callbacks: Any
) -> None:
    client, task, reservation = offered(tenant_a, desk)
    post(client, f"/console/reservations/{reservation.sid}/accept/")
    NumberRouting.objects.create(  # the number's texts are routed: a new one joins the open task
        account=tenant_a.account,
        phone_number=IncomingPhoneNumber.objects.get(phone_number=CLINIC),
        workflow=Workflow.objects.get(workspace=desk.workspace),
        task_channel=TaskChannel.objects.get(workspace=desk.workspace, unique_name="sms"),
    )
    sms = InboundSms(from_number=PATIENT, to=CLINIC, body="Also, where do I park?", carrier_message_id="c2")
    with django_capture_on_commit_callbacks(execute=True):  # message_received, sent on commit
        assert message_receive(sms=sms, connector="test") is not None
    # The test's transaction never commits: the push waits among its hooks, after the accept's.
    (pushes,) = [
        hook for _, hook, _ in transaction.get_connection().run_on_commit if isinstance(hook, _Pushes)
    ]
    assert pushes.messages[-1] == (
        worker_group(reservation.worker_id),
        {"type": "console.changed", "event_type": "task.touched"},
    )
    assert Task.objects.count() == 1  # the text joined the open task
    (held,) = client.get("/console/").context["state"]["reservations"]
    assert "Also, where do I park?" in held["history_html"]


def test_going_unavailable_from_the_console_rejects_the_ringing_offer_and_is_audited(
    tenant_a: Tenant, desk: Setup
) -> None:
    client, task, reservation = offered(tenant_a, desk)
    state = post(client, "/console/activity/", activity_sid=desk.unavailable.sid)
    assert (state["worker"]["activity_name"], state["reservations"]) == ("Unavailable", [])
    reservation.refresh_from_db()
    assert reservation.status == "rejected"
    entry = AuditEntry.objects.get(action="taskrouter.worker.update", object_sid=reservation.worker.sid)
    assert entry.actor.startswith("user:agent@")
    refused = post(client, "/console/activity/", activity_sid="WAnot-one")
    assert (refused["http_status"], refused["code"]) == (400, 20001)


def test_the_agent_holding_a_customers_task_hears_their_recordings_and_nobody_else(
    tenant_a: Tenant, desk: Setup, settings: Any, tmp_path: Any
) -> None:
    """Agents lack the call log's roles (recordings are PHI), so the screen pop plays a recording
    through the console, to the agent whose reservation is that customer's, each fetch audited."""
    settings.RECORDINGS_DIR = tmp_path / "recordings"
    client, task, reservation = offered(tenant_a, desk)
    voicemail = recording(inbound_call(PATIENT, CLINIC))
    stranger = recording(inbound_call("+15559990000", CLINIC))

    pop = client.get("/console/").context["state"]["reservations"][0]["history_html"]
    assert f"/console/recordings/{voicemail.sid}/" in pop
    assert client.get(f"/recordings/{voicemail.sid}.wav").status_code in (403, 404)  # not the call log's
    heard = client.get(f"/console/recordings/{voicemail.sid}/")
    assert (heard.status_code, heard["Content-Type"]) == (200, "audio/x-wav")
    assert AuditEntry.objects.filter(action="recording.listen", object_sid=voicemail.sid).count() == 1
    assert client.get(f"/console/recordings/{stranger.sid}/").status_code == 404  # not their customer

    post(client, f"/console/reservations/{reservation.sid}/reject/", activity_sid=desk.unavailable.sid)
    assert client.get(f"/console/recordings/{voicemail.sid}/").status_code == 404  # no longer theirs


def test_a_closed_console_takes_offline_only_a_worker_whose_phone_it_is(
    tenant_a: Tenant, desk: Setup
) -> None:
    """The demo's Reception answers a SIP phone: closing a console of it must not stop that phone
    ringing. A worker with no contact, or its softphone's `client:` address, has no phone left."""
    client, alice = agent(tenant_a, desk)
    desk_phone = desk.worker("Reception", {"contact_uri": "sip:reception@127.0.0.1:5062"})
    in_browser = desk.worker("Bob", {"contact_uri": "client:WK" + "0" * 32})
    assert (
        "This console is your phone: closing it sets you offline after 30 s."
        in client.get("/console/").content.decode()
    )

    for worker in (alice, desk_phone, in_browser):
        console_closed_check(account_id=tenant_a.account.id, worker_id=worker.id)
    assert Worker.objects.get(id=desk_phone.id).available
    assert (
        not Worker.objects.get(id=alice.id).available and not Worker.objects.get(id=in_browser.id).available
    )

    worker_update(
        worker=Worker.objects.get(id=alice.id),
        attributes=json.dumps({"contact_uri": "+14155550192"}),
        activity_sid=desk.available.sid,
    )
    page = client.get("/console/").content.decode()
    assert "Your calls also ring" in page and "+14155550192" in page and "leaves your activity" in page
    assert not console_closed_check(account_id=tenant_a.account.id, worker_id=alice.id)
    assert Worker.objects.get(id=alice.id).available
