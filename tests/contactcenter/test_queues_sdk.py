"""Queues through the official `twilio` package against our real ASGI server."""

import pytest
from twilio.base.exceptions import TwilioRestException

from tests.conftest import make_tenant
from tests.numbering.test_twilio_sdk import sdk

pytestmark = pytest.mark.e2e


def test_queues_and_members_through_the_official_sdk(
    server: str, django_db_blocker: pytest.FixtureRequest
) -> None:
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        tenant, other = make_tenant("SDK queues"), make_tenant("SDK other")
    client = sdk(server, tenant.sid, tenant.token)

    queue = client.queues.create(friendly_name="front-desk", max_size=20)
    assert queue.sid.startswith("QU") and (queue.current_size, queue.max_size) == (0, 20)
    assert queue.average_wait_time == 0 and queue.date_created.tzinfo is not None
    assert [q.sid for q in client.queues.list()] == [queue.sid]
    updated = client.queues(queue.sid).update(friendly_name="reception", max_size=50)
    assert (updated.friendly_name, updated.max_size) == ("reception", 50)
    assert client.queues(queue.sid).fetch().friendly_name == "reception"
    assert client.queues(queue.sid).members.list() == []

    with pytest.raises(TwilioRestException) as empty:
        client.queues(queue.sid).members("Front").update(url="https://example.com/agent", method="POST")
    assert empty.value.status == 404 and empty.value.code == 20404

    outsider = sdk(server, other.sid, other.token)
    with pytest.raises(TwilioRestException) as hidden:
        outsider.queues(queue.sid).fetch()
    assert hidden.value.code == 20404
    assert outsider.queues.list() == []

    assert client.queues(queue.sid).delete() is True
    assert client.queues.list() == []
