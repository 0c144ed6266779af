"""Inbound texts entering TaskRouter per the number's routing settings: the first text of a
conversation with no open task creates one on the sms channel, later ones join it, a worker with sms
capacity gets it, and the routing is noted in the conversation's timeline; end to end, texts from
the SMPP sandbox carrier through the carrier gateway."""

import json
from collections.abc import Iterator

import pytest

from contactcenter.taskrouter.models import NumberRouting, Reservation, Task, TaskChannel
from contactcenter.taskrouter.reservations import reservation_update
from contactcenter.taskrouter.task_lifecycle import task_update
from conversations.models import Conversation, Note
from core.tenancy import tenant_scope
from messaging.carriers.base import InboundSms
from messaging.inbound import message_receive
from tests.conftest import make_tenant
from tests.contactcenter.taskrouter.factories import Setup, make_workspace
from tests.live import celery_worker
from tests.messaging.conftest import Live, gateway_process, smpp_connector
from tests.messaging.smsc import Smsc

CUSTOMER = "+14155550177"
OTHER = "+14155550178"

pytestmark = pytest.mark.e2e


@pytest.fixture
def routed(live: Live) -> Iterator[tuple[Live, Setup]]:
    """The live tenant's number routes its texts to a workspace with one sms-capable worker."""
    with live.db():
        routing = make_workspace(live.tenant.account)
        queue = routing.queue("Everyone")
        workflow = routing.workflow({"filters": [], "default_filter": {"queue": queue.sid}})
        number = live.give_number()
        NumberRouting.objects.create(
            account=live.tenant.account,
            phone_number=number,
            workflow=workflow,
            task_channel=TaskChannel.objects.get(workspace=routing.workspace, unique_name="sms"),
        )
    live.number = number.phone_number
    yield live, routing


def receive(live: Live, body: str, sender: str = CUSTOMER) -> None:
    sms = InboundSms(from_number=sender.lstrip("+"), to=live.number, body=body, carrier_message_id="c")
    assert message_receive(sms=sms, connector="smsc") is not None


def tasks(live: Live) -> list[Task]:
    with live.db():
        return list(Task.objects.order_by("date_created").select_related("task_channel"))


def notes(live: Live) -> list[str]:
    with live.db():
        return list(Note.objects.order_by("date_created").values_list("text", flat=True))


def test_a_first_text_creates_an_sms_task_and_later_ones_join_it(routed: tuple[Live, Setup]) -> None:
    live, _ = routed
    receive(live, "Can I move my appointment?")
    receive(live, "It is for Tuesday")
    receive(live, "Hello", sender=OTHER)  # another conversation: a task of its own

    first, other = tasks(live)
    attributes = json.loads(first.attributes)
    with live.db():
        conversation = Conversation.objects.get(contact__phone_number=CUSTOMER)
        (message_sid,) = [m.sid for m in live.messages(from_number=CUSTOMER)][:1]
    assert attributes == {
        "channel": "sms",
        "from": CUSTOMER,
        "to": live.number,
        "body": "Can I move my appointment?",
        "message_sid": message_sid,
        "conversation_sid": conversation.sid,
    }
    assert (first.task_channel.unique_name, first.status) == ("sms", "pending")
    assert json.loads(other.attributes)["from"] == OTHER


def test_a_worker_with_sms_capacity_gets_it_and_the_timeline_says_so(routed: tuple[Live, Setup]) -> None:
    live, routing = routed
    with live.db():
        routing.capacity(routing.worker("Busy Bob"), "sms", 0)
        alice = routing.worker("Alice")
    receive(live, "Is anyone there?")
    assert routing.offered() == 1
    (task,) = tasks(live)
    with live.db():
        (reservation,) = Reservation.objects.filter(task=task)
        assert reservation.worker_id == alice.id
        reservation_update(reservation=reservation, status="accepted")
    receive(live, "Thanks")  # joins the assigned task
    with live.db():
        task = Task.objects.get(id=task.id)
        task_update(task=task, assignment_status="completed", reason="answered")
    receive(live, "One more thing")  # the task is closed: a new one
    assert [t.status for t in tasks(live)] == ["completed", "reserved"]  # Alice had room again
    assert notes(live) == ["Routed to Alice", "Completed by Alice"]


def test_a_number_without_routing_settings_makes_no_task(live: Live) -> None:
    receive(live, "Hello")
    assert tasks(live) == []


def test_texts_through_the_carrier_gateway_make_one_task(routed: tuple[Live, Setup], smsc: Smsc) -> None:
    live, _ = routed
    smpp_connector(smsc)
    with celery_worker(), gateway_process():
        for text in ("Is 10:00 fine?", "Or 11:00?"):
            smsc.mo(from_=CUSTOMER.lstrip("+"), to=live.number.lstrip("+"), text=text)
        live.wait_for(lambda: len(live.messages(direction="inbound")) == 2, "both texts")
    (task,) = tasks(live)
    assert json.loads(task.attributes)["body"] == "Is 10:00 fine?"


def test_routing_settings_are_invisible_to_other_tenant(routed: tuple[Live, Setup]) -> None:
    live, _ = routed
    other = make_tenant("Other clinic")
    with tenant_scope(other.account.id):
        assert not NumberRouting.objects.exists()
    with live.db():
        assert NumberRouting.objects.count() == 1
