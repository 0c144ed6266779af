"""Calls entering TaskRouter, end to end: sipp calls through Asterisk into the ARI worker, whose
`<Enqueue workflowSid>` creates the caller's task; a `dequeue` given through the official SDK dials
the worker's contact URI (a sipp UAS behind the trunk) and bridges them; a caller hanging up while
reserved cancels the task and frees the worker."""

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from contactcenter.models import QueueMember
from contactcenter.taskrouter.models import Reservation, Task, Worker, WorkerChannel, Workflow
from contactcenter.taskrouter.workers import worker_update
from core.sids import sid_to_uuid
from numbering.models import IncomingPhoneNumber
from numbering.services import number_create
from tests.asterisk import TRUNK_UAS_PORT
from tests.contactcenter.taskrouter.factories import Setup, make_workspace
from tests.contactcenter.taskrouter.sdk import taskrouter
from tests.numbering.test_twilio_sdk import sdk
from tests.voice import sipp
from tests.voice.dtmf import script_pcap
from tests.voice.test_call_flows import FAR_END, Lab
from tests.voice.twiml_app import twiml
from voice.models import Call

pytestmark = pytest.mark.e2e

NUMBER = "+12065550177"  # used only here: committed numbers are global across tests


def open_desk(lab: Lab, number: str, alice: dict[str, Any] | None = None) -> tuple[Setup, Worker]:
    """In `lab.db()`: `number` runs the lab's app; a workspace whose workflow sends every task to one
    queue, and its one worker, Alice (with `alice` as attributes), available."""
    number_create(
        account=lab.tenant.account, actor="test", phone_number=number, voice_url=lab.app.url + "/voice"
    )
    setup = make_workspace(lab.tenant.account)
    queue = setup.queue("Everyone")
    setup.workflow({"filters": [], "default_filter": {"queue": queue.sid}})
    return setup, setup.worker("Alice", alice)


@pytest.fixture
def desk(lab: Lab) -> Iterator[tuple[Lab, Setup]]:
    """The clinic's number runs its app; a workspace whose one worker, Alice, answers at FAR_END."""
    with lab.db():
        setup, _ = open_desk(lab, NUMBER, {"contact_uri": FAR_END})
    yield lab, setup
    with lab.db():
        IncomingPhoneNumber.objects.filter(phone_number=NUMBER).delete()


def enqueue_document(setup: Setup) -> str:
    with_workflow = f'workflowSid="{Workflow.objects.get(workspace=setup.workspace).sid}"'
    return (
        f'<Response><Enqueue {with_workflow} waitUrl="/wait" action="/after">'
        '<Task priority="3">{"type": "appointments"}</Task></Enqueue></Response>'
    )


def wait_for(lab: Lab, find: Callable[[], Any], what: str, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        with lab.db():
            found = find()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_a_dequeue_through_the_sdk_bridges_the_caller_to_the_worker(
    desk: tuple[Lab, Setup], server: str, celery: None
) -> None:
    lab, setup = desk
    with lab.db():
        lab.serve(voice=enqueue_document(setup), wait='<Response><Pause length="20"/></Response>')
    lab.serve(after="<Response/>")
    with lab.far_end() as alice:
        caller = lab.start_call(NUMBER, hangup_after_ms=9000)
        task = wait_for(lab, lambda: Task.objects.first(), "the caller's task")
        attributes = json.loads(task.attributes)
        assert attributes["type"] == "appointments" and attributes["from"] == "+15557654321"
        assert attributes["to"] == NUMBER and attributes["call_sid"].startswith("CA")
        assert (task.priority, task.status) == (3, "reserved")  # offered to Alice as it was created
        assert lab.app.wait_for("/wait")[0].form["TaskSid"] == task.sid
        with lab.db():
            assert setup.offered() == 1
            reservation = Reservation.objects.get(task=task)
        taskrouter(server, lab.tenant).workspaces(setup.workspace.sid).tasks(task.sid).reservations(
            reservation.sid
        ).update(instruction="dequeue", dequeue_from=NUMBER, dequeue_post_work_activity_sid=setup.offline.sid)
        wait_for(lab, lambda: Task.objects.filter(id=task.id, status="assigned").first(), "Alice answering")
        with lab.db():  # while they talk, the caller is out of the queue, bridged
            member = QueueMember.objects.select_related("queue").get()
            assert (member.status, member.result) == ("left", "bridged") and member.bridged_at
        assert sdk(server, lab.tenant.sid, lab.tenant.token).queues(member.queue.sid).members.list() == []
        assert caller.wait().ok
        assert alice.wait().ok
    after = lab.app.wait_for("/after")[0].form
    assert after["QueueResult"] == "bridged"
    with lab.db():
        reservation.refresh_from_db()
        task.refresh_from_db()
        alice_row = reservation.worker
        assert alice_row is not None
        alice_row.refresh_from_db()
        assert (reservation.status, task.status) == ("wrapping", "wrapping")
        assert alice_row.activity_id == setup.offline.id


def test_a_worker_busy_to_a_dequeue_puts_the_caller_back_in_line_and_the_task_up_again(
    desk: tuple[Lab, Setup], server: str, celery: None
) -> None:
    """Out of line while the worker's phone rings, the caller is back in its place when it is busy:
    the reservation rejected, the task pending again, the caller still waiting."""
    lab, setup = desk
    with lab.db():
        lab.serve(voice=enqueue_document(setup), wait='<Response><Pause length="20"/></Response>')
    lab.serve(after="<Response/>")
    with lab.far_end(busy=True) as alice:
        caller = lab.start_call(NUMBER, timeout_s=60)
        task = wait_for(lab, lambda: Task.objects.first(), "the caller's task")
        with lab.db():
            assert setup.offered() == 1
            reservation = Reservation.objects.get(task=task)
        taskrouter(server, lab.tenant).workspaces(setup.workspace.sid).tasks(task.sid).reservations(
            reservation.sid
        ).update(instruction="dequeue", dequeue_from=NUMBER)
        wait_for(lab, lambda: Reservation.objects.filter(status="rejected").first(), "the busy worker")
        assert alice.wait().ok
    with lab.db():
        assert Task.objects.get(id=task.id).status == "pending"
        assert QueueMember.objects.get().status == "waiting"
    sdk(server, lab.tenant.sid, lab.tenant.token).calls(json.loads(task.attributes)["call_sid"]).update(
        status="completed"
    )
    assert caller.wait().ok


def test_a_caller_hanging_up_while_reserved_cancels_the_task_and_frees_the_worker(
    desk: tuple[Lab, Setup],
) -> None:
    lab, setup = desk
    with lab.db():
        lab.serve(voice=enqueue_document(setup), wait='<Response><Pause length="20"/></Response>')
    caller = lab.start_call(NUMBER, hangup_after_ms=3000)
    task = wait_for(lab, lambda: Task.objects.first(), "the caller's task")
    with lab.db():
        assert setup.offered() == 1
    assert caller.wait().ok
    wait_for(lab, lambda: Task.objects.filter(status="canceled").first(), "the task canceled")
    with lab.db():
        task.refresh_from_db()
        (reservation,) = Reservation.objects.filter(task=task)
        assert task.reason == "The caller hung up" and reservation.status == "canceled"
        assert WorkerChannel.objects.filter(assigned_tasks__gt=0).count() == 0


def test_a_caller_pressing_1_for_a_callback_keeps_their_place_and_is_called_back_bridged_to_the_worker(
    desk: tuple[Lab, Setup], server: str, celery: None
) -> None:
    """The documented pattern with real digits: caller A's wait music is a `<Gather numDigits="1">`;
    A presses 1 (RFC 4733), and the app's /choice writes the callback into A's task through the SDK
    and says goodbye. Caller B enqueues later and waits; Alice comes available; the reservation is for
    A's older task; its dequeue calls A back from the clinic's number and bridges A to Alice; B still
    waits."""
    lab, setup = desk
    client = taskrouter(server, lab.tenant).workspaces(setup.workspace.sid)
    with lab.db():
        alice = Worker.objects.get()
        worker_update(worker=alice, activity_sid=setup.offline.sid)
        lab.serve(
            voice=enqueue_document(setup),
            wait='<Response><Gather numDigits="1" action="/choice" timeout="10">'
            "<Say>Press 1 to be called back without losing your place in line.</Say></Gather>"
            '<Pause length="20"/></Response>',
        )

    def choice(form: dict[str, str]) -> tuple[int, str, bytes]:
        """The app's Gather action, as docs/contactcenter.md writes it."""
        if form["Digits"] != "1":
            return twiml("<Response><Redirect>/wait</Redirect></Response>")(form)
        task = client.tasks(form["TaskSid"]).fetch()
        callback = {"to": form["From"], "via": "voice"}
        client.tasks(form["TaskSid"]).update(
            attributes=json.dumps({**json.loads(task.attributes), "callback": callback})
        )
        return twiml("<Response><Say>We will call you back. Goodbye.</Say><Hangup/></Response>")(form)

    lab.app.routes["/choice"] = choice
    lab.serve(after="<Response/>")
    pressing_1 = script_pcap(("wait", 4000), ("press", "1"), ("wait", 500))
    caller_a = lab.start_call(NUMBER, caller="+15557650001", pcap=pressing_1)  # the platform hangs up
    assert caller_a.wait().ok
    assert lab.app.wait_for("/choice")[0].form["Digits"] == "1"
    task_a = wait_for(lab, lambda: Task.objects.first(), "A's task")
    caller_b = lab.start_call(NUMBER, caller="+15557650002")  # waits until the platform hangs up
    task_b = wait_for(lab, lambda: Task.objects.exclude(id=task_a.id).first(), "B's task")
    client.workers(alice.sid).update(activity_sid=setup.available.sid)
    with lab.db():
        task_a.refresh_from_db()
        assert task_a.status == "pending"  # A hung up, yet keeps its place
        assert json.loads(task_a.attributes)["callback"] == {"to": "+15557650001", "via": "voice"}
        assert setup.offered() == 1
        (reservation,) = Reservation.objects.all()
        assert reservation.task_id == task_a.id  # older than B's, so first
    with lab.far_end(calls=2) as far_end:  # A's phone, then Alice's
        client.tasks(task_a.sid).reservations(reservation.sid).update(instruction="dequeue")
        callback = wait_for(
            lab,
            lambda: Call.objects.filter(direction="outbound-dial").first(),
            "the callback bridged to Alice",
            timeout=20,
        )
        with lab.db():
            task_a.refresh_from_db()
            task_b.refresh_from_db()
            parent = Call.objects.get(id=callback.parent_call_id)
        assert (task_a.status, task_b.status) == ("assigned", "pending")
        assert (parent.to_number, parent.from_number) == ("+15557650001", NUMBER)
        assert callback.to_number == FAR_END
        assert json.loads(task_a.attributes)["callback"]["call_sid"] == parent.sid
        time.sleep(2)  # A and Alice talk
        sdk(server, lab.tenant.sid, lab.tenant.token).calls(parent.sid).update(status="completed")
        assert far_end.wait().ok
    wait_for(lab, lambda: Task.objects.filter(id=task_a.id, status="wrapping").first(), "A's task wrapping")
    call_b = json.loads(task_b.attributes)["call_sid"]
    sdk(server, lab.tenant.sid, lab.tenant.token).calls(call_b).update(status="completed")
    assert caller_b.wait().ok


def test_a_call_instruction_whose_twiml_dials_the_reservation_bridges_that_caller_not_the_front(
    desk: tuple[Lab, Setup], server: str, celery: None
) -> None:
    """Caller 1 waits at the front; caller 2's task, of higher priority, is reserved for Alice once
    she signs in. The `call` instruction through the SDK rings Alice, whose TwiML is `<Dial><Queue
    reservationSid>`: she is bridged to caller 2, the reservation accepted; caller 1 still waits.
    When the bridge ends the task wraps up and Alice moves to the post-work activity."""
    lab, setup = desk
    with lab.db():
        workflow_sid = Workflow.objects.get(workspace=setup.workspace).sid
        away = Worker.objects.get(friendly_name="Alice")
        worker_update(worker=away, activity_sid=setup.offline.sid)
    lab.app.routes["/voice"] = lambda form: twiml(
        f'<Response><Enqueue workflowSid="{workflow_sid}">'
        f'<Task priority="{5 if form["From"] == "+15557650002" else 1}">{{}}</Task></Enqueue></Response>'
    )(form)
    rest = sdk(server, lab.tenant.sid, lab.tenant.token)
    caller_1 = lab.start_call(NUMBER, caller="+15557650001")  # both wait until the platform hangs up
    wait_for(lab, lambda: Task.objects.first(), "caller 1's task")
    caller_2 = lab.start_call(NUMBER, caller="+15557650002")
    task_2 = wait_for(lab, lambda: Task.objects.filter(priority=5).first(), "caller 2's task")
    with lab.db():
        setup.sign_in(away)
        assert setup.offered() == 1
        (reservation,) = Reservation.objects.all()
        assert reservation.task_id == task_2.id  # not the front caller's
    lab.serve(
        agent=f'<Response><Dial><Queue reservationSid="{reservation.sid}" '
        f'postWorkActivitySid="{setup.offline.sid}">{workflow_sid}</Queue></Dial></Response>'
    )
    with lab.far_end() as alice:
        taskrouter(server, lab.tenant).workspaces(setup.workspace.sid).tasks(task_2.sid).reservations(
            reservation.sid
        ).update(instruction="call", call_from=NUMBER, call_url=lab.app.url + "/agent", call_to=FAR_END)
        wait_for(lab, lambda: Task.objects.filter(id=task_2.id, status="assigned").first(), "the bridge")
        first, second = wait_for(
            lab,
            lambda: (m := list(QueueMember.objects.order_by("date_created")))[1].status == "left" and m,
            "caller 2 bridged",
        )
        assert (first.status, second.result) == ("waiting", "bridged")
        assert lab.app.wait_for("/agent")[0].form["To"] == FAR_END
        rest.calls(json.loads(task_2.attributes)["call_sid"]).update(status="completed")
        assert alice.wait().ok  # the bridge ended, and with it Alice's call
        assert caller_2.wait().ok
    wait_for(lab, lambda: Task.objects.filter(id=task_2.id, status="wrapping").first(), "the wrap-up")
    with lab.db():
        reservation.refresh_from_db()
        alice_row = reservation.worker
        assert alice_row is not None
        alice_row.refresh_from_db()
        assert (reservation.status, alice_row.activity_id) == ("wrapping", setup.offline.id)
        task_1 = Task.objects.get(priority=1)
        assert task_1.status == "pending"
        call_1 = json.loads(task_1.attributes)["call_sid"]
        assert QueueMember.objects.get(call_id=sid_to_uuid(call_1, "CA")).status == "waiting"
    rest.calls(call_1).update(status="completed")
    assert caller_1.wait().ok


def test_a_worker_hanging_up_before_the_bridge_gives_the_task_back_with_its_age(
    desk: tuple[Lab, Setup], server: str, celery: None
) -> None:
    """The `call` instruction rings Alice, whose `<Dial><Queue reservationSid url="/announce">` claims
    the caller; while the caller hears the announcement, Alice hangs up. Twilio accepts the
    reservation only when the dequeue succeeds: it times out, the caller is back in line still
    waiting, and the task is offered again with its age, to Bob."""
    lab, setup = desk
    with lab.db():
        workflow_sid = Workflow.objects.get(workspace=setup.workspace).sid
    lab.serve(
        voice=f'<Response><Enqueue workflowSid="{workflow_sid}"><Task>{{}}</Task></Enqueue></Response>',
        announce='<Response><Pause length="6"/></Response>',
    )
    caller = lab.start_call(NUMBER, caller="+15557650003", timeout_s=60)
    task = wait_for(lab, lambda: Task.objects.first(), "the caller's task")
    with lab.db():
        assert setup.offered() == 1
        alices = Reservation.objects.get()
    lab.serve(
        agent=f'<Response><Dial><Queue reservationSid="{alices.sid}" url="/announce">'
        f"{workflow_sid}</Queue></Dial></Response>"
    )
    alice = sipp.start_scenario(
        Path(__file__).parent / "sipp" / "uas_hangup.xml",
        workdir=lab.workdir / "alice",
        local_port=TRUNK_UAS_PORT,
    )
    with alice:
        taskrouter(server, lab.tenant).workspaces(setup.workspace.sid).tasks(task.sid).reservations(
            alices.sid
        ).update(instruction="call", call_from=NUMBER, call_url=lab.app.url + "/agent", call_to=FAR_END)
        lab.app.wait_for("/announce")  # the caller is claimed, hearing it
        wait_for(lab, lambda: Reservation.objects.filter(id=alices.id, status="timeout").first(), "timeout")
        assert alice.wait().ok
    with lab.db():
        again = Task.objects.get(id=task.id)
        assert (again.status, again.age_anchor_at) == ("pending", task.age_anchor_at)
        assert QueueMember.objects.get().status == "waiting"
        setup.worker("Bob")
        assert setup.offered() == 1
        assert Reservation.objects.get(status="pending").worker_name == "Bob"
    sdk(server, lab.tenant.sid, lab.tenant.token).calls(json.loads(task.attributes)["call_sid"]).update(
        status="completed"
    )
    assert caller.wait().ok
    wait_for(lab, lambda: Task.objects.filter(id=task.id, status="canceled").first(), "the caller gone")
