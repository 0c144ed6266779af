"""A <Dial> leg's row and timeline: the worker writes them after the fact, so they carry the instants
things happened, and the timeline reads initiated before anything the leg did next."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.tenancy import tenant_activate
from tests.conftest import Tenant
from tests.conversations.factories import inbound_call, number
from voice.call_state import call_status_set
from voice.child_calls import child_call_open
from voice.models import Call, CallEvent

OURS = "+14155550100"


@pytest.mark.django_db
def test_a_leg_written_late_is_initiated_when_its_dial_began(tenant_a: Tenant) -> None:
    number(tenant_a, OURS)
    parent = inbound_call("+15017122661", OURS)
    tenant_activate(tenant_a.account.id)
    began = timezone.now() - timedelta(seconds=5)
    leg_id = child_call_open(
        account_id=tenant_a.account.id,
        call_id=parent.id,
        to_number="+14155550123",
        from_number=OURS,
        media_server_id=None,
        at=began,
    )
    answered = began + timedelta(milliseconds=50)
    call_status_set(account_id=tenant_a.account.id, call_id=leg_id, status="in-progress", at=answered)

    leg = Call.objects.get(id=leg_id)
    assert leg.start_time == began
    events = CallEvent.objects.filter(call=leg).order_by("date_created")
    assert [(e.name, e.date_created) for e in events] == [("initiated", began), ("in-progress", answered)]
