"""A `dequeue` instruction Redis cannot carry to the waiting caller's worker is refused (20503) and
leaves the reservation pending, rather than being lost once the instruction was taken."""

import json
import uuid
from typing import Any

import pytest

from contactcenter.members import queue_member_enqueue
from contactcenter.taskrouter.instructions import Instruction
from contactcenter.taskrouter.models import Reservation, Task
from contactcenter.taskrouter.reservations import reservation_update
from contactcenter.voice_tasks import voice_task_create
from core.errors import TwilioError
from core.tenancy import tenant_activate
from tests.conftest import Tenant
from tests.contactcenter.taskrouter.factories import make_workspace
from voice import control_channel
from voice.models import Call


def test_a_dequeue_redis_cannot_carry_is_refused_and_the_reservation_stays_pending(
    tenant_a: Tenant, settings: Any
) -> None:
    setup = make_workspace(tenant_a.account)
    setup.worker("Alice", {"contact_uri": "sip:alice@example.com"})
    queue = setup.queue("Front desk")
    workflow = setup.workflow({"default_filter": {"queue": queue.sid}})
    call = Call.objects.create(
        account=tenant_a.account,
        direction=Call.Direction.INBOUND,
        from_number="+14155550142",
        to_number="+12025550100",
        status=Call.Status.IN_PROGRESS,
        channel_id="ch-" + uuid.uuid4().hex,
    )
    assert queue_member_enqueue(account_id=tenant_a.account.id, call_id=call.id, queue_name=workflow.sid)
    task_sid = voice_task_create(
        account_id=tenant_a.account.id, call_id=call.id, workflow_sid=workflow.sid, task=None
    )
    tenant_activate(tenant_a.account.id)
    setup.route()
    reservation = Reservation.objects.get(task_id=uuid.UUID(task_sid[2:]))

    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    control_channel._client.cache_clear()
    try:
        with pytest.raises(TwilioError) as refused:
            reservation_update(reservation=reservation, instruction=Instruction(name="dequeue"))
    finally:
        control_channel._client.cache_clear()
    assert (refused.value.twilio_code, refused.value.status_code) == (20503, 503)
    reservation.refresh_from_db()
    assert reservation.status == "pending"
    assert Task.objects.get(id=reservation.task_id).status == "reserved"
    assert json.loads(Task.objects.get(id=reservation.task_id).attributes)["call_sid"] == call.sid
