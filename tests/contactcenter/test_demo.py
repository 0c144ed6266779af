"""The demo's front desk: `manage.py demo_tenant` seeds it once (what the README says is there), the
IVR's 4 enqueues on its workflow, its assignment callback answers `dequeue` for a call and `accept`
for a text, and its event callback completes a task wrapping up. End to end: a real call through
Asterisk presses 4 and is bridged to a sipp receptionist."""

import io
import json

from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from contactcenter.console_live import console_presence_clear, console_presence_mark
from contactcenter.demo import RECEPTION_SIP, FrontDesk, demo_front_desk_ensure
from contactcenter.taskrouter.models import (
    NumberRouting,
    Reservation,
    Task,
    TaskQueue,
    Worker,
    Workflow,
    Workspace,
)
from contactcenter.taskrouter.task_lifecycle import task_create, task_update
from contactcenter.taskrouter.workers import worker_update
from core import webhooks
from core.tenancy import tenant_scope
from numbering.demo import DEMO_NUMBER, demo_number_ensure
from tenants.demo import DEMO_ACCOUNT_ID, demo_tenant_ensure
from twiml import parse_voice, verbs


def signed_post(client: Client, path: str, params: dict[str, str]) -> bytes:
    token = demo_tenant_ensure().account.auth_token
    signature = webhooks.signature(f"{settings.PUBLIC_BASE_URL}{path}", params, token)
    response = client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code in (200, 204), response.content
    return bytes(response.content)


def test_demo_tenant_seeds_the_front_desk_once(db: None) -> None:
    call_command("demo_tenant", stdout=io.StringIO())
    out = io.StringIO()
    call_command("demo_tenant", stdout=out)

    with tenant_scope(DEMO_ACCOUNT_ID):
        (workspace,) = Workspace.objects.all()
        (queue,) = TaskQueue.objects.all()
        (workflow,) = Workflow.objects.all()
        (reception,) = Worker.objects.all()
        (routing,) = NumberRouting.objects.all()
        assert (workspace.friendly_name, queue.friendly_name, workflow.friendly_name) == (
            "Demo clinic",
            "Front desk",
            "Front desk",
        )
        assert json.loads(workflow.configuration)["task_routing"]["default_filter"] == {"queue": queue.sid}
        assert workflow.assignment_callback_url == f"{settings.PUBLIC_BASE_URL}/demo/front-desk/assignment/"
        assert workspace.event_callback_url == f"{settings.PUBLIC_BASE_URL}/demo/front-desk/events/"
        assert reception.friendly_name == "Reception" and reception.available
        assert reception.attributes_json == {"contact_uri": RECEPTION_SIP}
        assert reception.member is not None and reception.member.user.email == "owner@demo.example"
        assert (routing.phone_number.phone_number, routing.workflow_id, routing.task_channel.unique_name) == (
            DEMO_NUMBER,
            workflow.id,
            "sms",
        )
    assert "scripts/agent-demo" in out.getvalue() and workspace.sid in out.getvalue()


def test_a_restart_makes_reception_available_again(db: None) -> None:
    account = demo_tenant_ensure().account
    desk = demo_front_desk_ensure(account=account)
    with tenant_scope(account.id):
        offline = desk.workspace.default_activity
        assert offline is not None
        worker_update(worker=desk.reception, activity_sid=offline.sid)

    again = demo_front_desk_ensure(account=account)

    assert again.reception.id == desk.reception.id and again.reception.available


def test_pressing_4_redirects_to_the_front_desk_which_enqueues_on_its_workflow(
    db: None, client: Client
) -> None:
    account = demo_tenant_ensure().account
    demo_number_ensure(account=account)
    desk = demo_front_desk_ensure(account=account)

    menu = parse_voice(signed_post(client, "/demo/ivr/menu/", {"Digits": "4"})).response.verbs
    assert menu == (verbs.Redirect("/demo/front-desk/"),)
    desk_verbs = parse_voice(
        signed_post(client, "/demo/front-desk/", {"CallSid": "CA" + "0" * 32})
    ).response.verbs

    (enqueue,) = [v for v in desk_verbs if isinstance(v, verbs.Enqueue)]
    assert enqueue.workflow_sid == desk.workflow.sid and enqueue.name == "Front desk"
    assert enqueue.wait_url is None  # the platform's hold music


def test_the_assignment_callback_dequeues_calls_and_accepts_texts(db: None, client: Client) -> None:
    demo_tenant_ensure()

    voice = json.loads(
        signed_post(client, "/demo/front-desk/assignment/", {"TaskChannelUniqueName": "voice"})
    )
    sms = json.loads(signed_post(client, "/demo/front-desk/assignment/", {"TaskChannelUniqueName": "sms"}))

    assert voice == {"instruction": "dequeue", "from": DEMO_NUMBER} and sms == {"instruction": "accept"}


def _voice_task(desk: FrontDesk) -> Task:
    """A call's task on the demo's front desk, as its workflow makes one."""
    return task_create(
        workspace=desk.workspace,
        workflow_sid=desk.workflow.sid,
        attributes="{}",
        priority=None,
        timeout=None,
        task_channel="voice",
    )


def test_the_event_callback_completes_a_task_wrapping_up(db: None, client: Client) -> None:
    account = demo_tenant_ensure().account
    desk = demo_front_desk_ensure(account=account)
    with tenant_scope(account.id):
        task = _voice_task(desk)
        Task.objects.filter(id=task.id).update(status=Task.Status.ASSIGNED)
        task.refresh_from_db()
        task_update(task=task, assignment_status=Task.Status.WRAPPING)

    signed_post(client, "/demo/front-desk/events/", {"EventType": "task.wrapup", "TaskSid": task.sid})

    with tenant_scope(account.id):
        task.refresh_from_db()
        assert task.status == Task.Status.COMPLETED


def test_the_assignment_callback_leaves_the_offer_to_an_open_console(db: None, client: Client) -> None:
    desk = demo_front_desk_ensure(account=demo_tenant_ensure().account)
    params = {"TaskChannelUniqueName": "voice", "WorkerSid": desk.reception.sid}
    console_presence_mark(worker_id=desk.reception.id, channel_name="test-console")
    try:
        while_open = signed_post(client, "/demo/front-desk/assignment/", params)
    finally:
        console_presence_clear(worker_id=desk.reception.id, channel_name="test-console")
    after = json.loads(signed_post(client, "/demo/front-desk/assignment/", params))

    assert while_open == b"" and after == {"instruction": "dequeue", "from": DEMO_NUMBER}


def test_the_event_callback_leaves_a_task_to_its_agents_open_console(db: None, client: Client) -> None:
    account = demo_tenant_ensure().account
    desk = demo_front_desk_ensure(account=account)
    with tenant_scope(account.id):
        task = _voice_task(desk)
        Task.objects.filter(id=task.id).update(status=Task.Status.WRAPPING)
        Reservation.objects.create(
            account_id=account.id,
            workspace=desk.workspace,
            task=task,
            worker=desk.reception,
            worker_name=desk.reception.friendly_name,
            status=Reservation.Status.WRAPPING,
            timeout_at=timezone.now(),
        )
    console_presence_mark(worker_id=desk.reception.id, channel_name="test-console")
    try:
        signed_post(client, "/demo/front-desk/events/", {"EventType": "task.wrapup", "TaskSid": task.sid})
    finally:
        console_presence_clear(worker_id=desk.reception.id, channel_name="test-console")

    with tenant_scope(account.id):
        task.refresh_from_db()
        assert task.status == Task.Status.WRAPPING  # the agent completes it with a disposition


def test_a_reception_seeded_on_the_test_suites_port_moves_to_the_demos(db: None) -> None:
    account = demo_tenant_ensure().account
    desk = demo_front_desk_ensure(account=account)
    with tenant_scope(account.id):
        earlier = json.dumps({"contact_uri": "sip:reception@127.0.0.1:5070"})
        worker_update(worker=desk.reception, attributes=earlier)

    again = demo_front_desk_ensure(account=account)

    assert again.reception.attributes_json == {"contact_uri": RECEPTION_SIP}
    assert RECEPTION_SIP.endswith(":5062")
