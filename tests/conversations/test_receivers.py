"""Voice's signals reach conversations: calls and recordings join timelines without voice importing it."""

from django.test import TestCase

from conversations.models import Item
from core.tenancy import tenant_scope
from tests.conftest import Tenant
from tests.conversations.factories import number, recording
from voice.call_setup import CallSetup
from voice.call_state import call_finish
from voice.inbound import inbound_call_open
from voice.models import Call

CLINIC, PATIENT = "+12025550100", "+14155550123"


def test_an_inbound_call_joins_its_conversation_when_it_ends_and_so_does_its_recording(
    tenant_a: Tenant,
) -> None:
    number(tenant_a, CLINIC)
    setup = inbound_call_open(from_number=PATIENT, dialled=CLINIC, channel_id="ch-1", media_server_id=None)
    assert isinstance(setup, CallSetup)
    with tenant_scope(tenant_a.account.id):
        assert not Item.objects.exists()

    with TestCase.captureOnCommitCallbacks(execute=True):
        call_finish(account_id=setup.account_id, call_id=setup.call_id, status=Call.Status.NO_ANSWER)
    with tenant_scope(tenant_a.account.id):
        call = Call.objects.get(id=setup.call_id)
        stored = recording(call)
        items = Item.objects.order_by("occurred_at", "id").values_list("kind", "call_id", "recording_id")
        logged = list(items)
    assert logged == [("call", call.id, None), ("recording", None, stored.id)]
