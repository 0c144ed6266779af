"""The portal's Queues page: each queue's size and waits and its callers in line; tenants apart."""

import uuid

from django.test import Client

from contactcenter.members import queue_member_enqueue
from contactcenter.models import QueueMember
from core.tenancy import tenant_activate
from tenants.models import Role
from tests.conftest import Tenant
from tests.voice.test_portal_calls import _signed_in
from voice.models import Call


def _waiting(tenant: Tenant, queue_name: str, from_number: str) -> Call:
    tenant_activate(tenant.account.id)
    call = Call.objects.create(
        account=tenant.account,
        direction=Call.Direction.INBOUND,
        from_number=from_number,
        to_number="+12025550100",
        status=Call.Status.IN_PROGRESS,
        channel_id=uuid.uuid4().hex,
    )
    assert queue_member_enqueue(account_id=tenant.account.id, call_id=call.id, queue_name=queue_name)
    return call


def test_the_queues_page_shows_each_queue_and_its_callers_in_line(tenant_a: Tenant, tenant_b: Tenant) -> None:
    first = _waiting(tenant_a, "front-desk", "+14155550101")
    first_joined = QueueMember.objects.get(call=first).date_created
    _waiting(tenant_a, "front-desk", "+14155550102")
    _waiting(tenant_b, "hotel-desk", "+14155550199")
    client = _signed_in(tenant_a, Role.SUPERVISOR)

    page = client.get("/queues/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "front-desk" in html and "2 waiting" in html
    assert html.index("+14155550101") < html.index("+14155550102")
    assert f"/calls/{first.sid}/" in html
    assert "hotel-desk" not in html and "+14155550199" not in html

    # Kept live over the page's websocket, not by polling: waits are instants the browser ticks.
    assert 'data-live-socket="/ws/queues/"' in html and "hx-trigger" not in html
    assert f'data-since="{int(first_joined.timestamp())}"' in html  # the longest wait, the first caller's


def test_agents_and_strangers_do_not_see_the_queues(tenant_a: Tenant) -> None:
    _waiting(tenant_a, "front-desk", "+14155550101")
    assert _signed_in(tenant_a, Role.AGENT).get("/queues/").status_code == 403
    assert Client().get("/queues/").status_code == 302  # to sign-in
