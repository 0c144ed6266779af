"""Workers and their channels through the official SDK: create, list with every filter, update,
capacity per channel, delete, bad attributes, and tenant isolation."""

import json

import pytest
from twilio.rest.taskrouter.v1 import V1

from tests.conftest import Tenant
from tests.contactcenter.taskrouter.sdk import refused, taskrouter

pytestmark = pytest.mark.e2e


def test_worker_lifecycle_filters_and_channels(tr: V1) -> None:
    ws = tr.workspaces(tr.workspaces.create(friendly_name="Agents").sid)
    available = ws.activities.list(friendly_name="Available")[0]
    billing = ws.task_queues.create(friendly_name="Billing", target_workers="skills HAS 'billing'")
    ann_attributes = json.dumps({"skills": ["billing", "es"], "level": 3})
    ann = ws.workers.create(friendly_name="Ann", attributes=ann_attributes)
    assert (ann.sid[:2], ann.activity_name, ann.available, ann.attributes) == (
        "WK",
        "Offline",
        False,
        ann_attributes,
    )
    bob = ws.workers.create(
        friendly_name="Bob",
        attributes=json.dumps({"skills": ["support"], "level": 1}),
        activity_sid=available.sid,
    )
    assert (bob.activity_name, bob.available) == ("Available", True)

    def names(**filters: object) -> set[str]:
        return {w.friendly_name for w in ws.workers.list(**filters)}

    assert names() == {"Ann", "Bob"}
    assert names(activity_name="Available") == names(available="true") == {"Bob"}
    assert names(activity_sid=available.sid) == {"Bob"}
    assert names(target_workers_expression="level >= 2 AND skills HAS 'es'") == {"Ann"}
    assert names(task_queue_sid=billing.sid) == names(task_queue_name="Billing") == {"Ann"}
    assert names(friendly_name="Bob") == {"Bob"}
    assert [w.friendly_name for w in ws.workers.list(ordering="DateCreated:asc")] == ["Ann", "Bob"]
    assert refused(ws.workers.list, target_workers_expression="level >=") == (400, 20001)

    moved = ws.workers(ann.sid).update(
        activity_sid=available.sid, attributes=json.dumps({"skills": ["support"]})
    )
    assert (moved.available, moved.activity_name) == (True, "Available")
    assert names(task_queue_sid=billing.sid) == set()  # membership follows the new attributes
    assert [q.sid for q in ws.task_queues.list(worker_sid=bob.sid)] == []

    channels = {c.task_channel_unique_name: c for c in ws.workers(ann.sid).worker_channels.list()}
    assert set(channels) == {"default", "voice", "sms", "chat", "video"}
    voice = ws.workers(ann.sid).worker_channels("voice").update(capacity=2, available=False)
    assert (voice.configured_capacity, voice.available, voice.assigned_tasks) == (2, False, 0)
    by_sid = ws.workers(ann.sid).worker_channels(channels["voice"].sid).fetch()
    assert by_sid.configured_capacity == 2 and by_sid.task_channel_sid == channels["voice"].task_channel_sid
    assert refused(ws.workers(ann.sid).worker_channels("voice").update, capacity=51)[0] == 400

    ws.workers(bob.sid).delete()
    assert refused(ws.workers(bob.sid).fetch) == (404, 20404)
    assert names() == {"Ann"}


def test_bad_worker_attributes_are_refused_and_nothing_saved(tr: V1) -> None:
    ws = tr.workspaces(tr.workspaces.create(friendly_name="Strict").sid)
    assert refused(ws.workers.create, friendly_name="Cy", attributes="{not json") == (400, 20001)
    assert refused(ws.workers.create, friendly_name="Cy", attributes="[1, 2]") == (400, 20001)
    assert refused(ws.workers.create, friendly_name="Cy", activity_sid="WA" + "0" * 32) == (400, 20001)
    assert ws.workers.list() == []
    dee = ws.workers.create(friendly_name="Dee")
    assert refused(ws.workers(dee.sid).update, attributes="nope") == (400, 20001)
    assert ws.workers(dee.sid).fetch().attributes == "{}"


def test_worker_is_invisible_to_other_tenant(server: str, tr: V1, hotel: Tenant) -> None:
    workspace = tr.workspaces.create(friendly_name="Clinic desk")
    ws = tr.workspaces(workspace.sid)
    ann = ws.workers.create(friendly_name="Ann")
    theirs = taskrouter(server, hotel)
    own = theirs.workspaces(theirs.workspaces.create(friendly_name="Hotel desk").sid)
    for reach in (theirs.workspaces(workspace.sid).workers(ann.sid), own.workers(ann.sid)):
        assert refused(reach.fetch) == (404, 20404)
        assert refused(reach.update, friendly_name="Mine") == (404, 20404)
        assert refused(reach.worker_channels.list) == (404, 20404)
        assert refused(reach.reservations.list) == (404, 20404)
        assert refused(reach.delete) == (404, 20404)
    assert refused(theirs.workspaces(workspace.sid).workers.list) == (404, 20404)
    assert own.workers.list() == []
    assert ws.workers(ann.sid).fetch().friendly_name == "Ann"
