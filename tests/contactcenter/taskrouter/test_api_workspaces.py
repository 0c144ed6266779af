"""Workspaces and their configuration (Activities, TaskChannels, TaskQueues, Workflows) through the
official SDK: every operation, paging, validation that saves nothing, and tenant isolation."""

import json

import httpx
import pytest
from django.conf import settings
from twilio.rest.taskrouter.v1 import V1

from core.tenancy import tenant_scope
from tenants.services import api_key_create
from tests.conftest import Tenant
from tests.contactcenter.taskrouter.sdk import refused, taskrouter
from tests.numbering.test_twilio_sdk import sdk

pytestmark = pytest.mark.e2e


def test_workspace_lifecycle_with_its_default_activities_and_channels(tr: V1, clinic: Tenant) -> None:
    workspace = tr.workspaces.create(friendly_name="Front desk", event_callback_url="https://example.com/ev")
    assert workspace.sid.startswith("WS") and workspace.account_sid == clinic.sid
    assert workspace.date_created is not None and workspace.date_created.tzinfo is not None
    assert workspace.default_activity_name == "Offline" and workspace.timeout_activity_name == "Offline"
    assert workspace.multi_task_enabled is True  # a boolean left out is not read as false
    assert workspace.url == f"{settings.PUBLIC_BASE_URL}/taskrouter/v1/Workspaces/{workspace.sid}"
    assert workspace.links["activities"] == f"{workspace.url}/Activities"

    ws = tr.workspaces(workspace.sid)
    activities = {a.friendly_name: a.available for a in ws.activities.list()}
    assert activities == {"Offline": False, "Available": True, "Unavailable": False}
    assert [a.friendly_name for a in ws.activities.list(available="true")] == ["Available"]
    assert {c.unique_name for c in ws.task_channels.list()} == {"default", "voice", "sms", "chat", "video"}

    available = ws.activities.list(friendly_name="Available")[0]
    updated = ws.update(
        friendly_name="Reception", default_activity_sid=available.sid, multi_task_enabled=False
    )
    assert (updated.friendly_name, updated.default_activity_name, updated.multi_task_enabled) == (
        "Reception",
        "Available",
        False,
    )
    assert updated.event_callback_url == "https://example.com/ev"
    assert [w.sid for w in tr.workspaces.list(friendly_name="Reception")] == [workspace.sid]

    ws.delete()
    assert refused(ws.fetch) == (404, 20404)
    assert tr.workspaces.list(friendly_name="Reception") == []


def test_fifo_template_makes_a_queue_and_a_workflow(tr: V1) -> None:
    ws = tr.workspaces(tr.workspaces.create(friendly_name="Templated", template="FIFO").sid)
    [queue] = ws.task_queues.list()
    [workflow] = ws.workflows.list()
    assert queue.target_workers == "1==1"
    assert json.loads(workflow.configuration)["task_routing"]["default_filter"]["queue"] == queue.sid


def test_activities_and_task_channels(tr: V1) -> None:
    ws = tr.workspaces(tr.workspaces.create(friendly_name="Activities").sid)
    lunch = ws.activities.create(friendly_name="Lunch", available=False)
    assert (lunch.sid[:2], lunch.available, lunch.workspace_sid) == ("WA", False, ws._solution["sid"])
    assert ws.activities(lunch.sid).update(friendly_name="Break").friendly_name == "Break"
    assert refused(ws.activities.create, friendly_name="Break") == (400, 20001)
    ws.activities(lunch.sid).delete()
    assert refused(ws.activities(lunch.sid).fetch) == (404, 20404)
    offline = ws.activities.list(friendly_name="Offline")[0]
    assert refused(ws.activities(offline.sid).delete) == (400, 20001)  # the default activity

    email = ws.task_channels.create(friendly_name="E-mail", unique_name="email")
    assert email.sid.startswith("TC") and ws.task_channels("email").fetch().sid == email.sid
    assert ws.task_channels(email.sid).update(friendly_name="Mail").friendly_name == "Mail"
    ws.task_channels(email.sid).delete()
    assert refused(ws.task_channels(email.sid).fetch) == (404, 20404)


def test_task_queue_with_a_bad_expression_is_refused_and_nothing_saved(tr: V1) -> None:
    ws = tr.workspaces(tr.workspaces.create(friendly_name="Queues").sid)
    assert refused(ws.task_queues.create, friendly_name="Billing", target_workers="skills HAS") == (
        400,
        20001,
    )
    assert ws.task_queues.list() == []

    queue = ws.task_queues.create(
        friendly_name="Billing", target_workers="skills HAS 'billing' AND level >= 2", max_reserved_workers=3
    )
    assert (queue.sid[:2], queue.max_reserved_workers, queue.task_order) == ("WQ", 3, "FIFO")
    assert refused(ws.task_queues(queue.sid).update, target_workers="level >>= 2") == (400, 20001)
    assert ws.task_queues(queue.sid).fetch().target_workers == "skills HAS 'billing' AND level >= 2"
    assert refused(ws.task_queues.create, friendly_name="Wide", max_reserved_workers=51)[0] == 400

    busy = ws.activities.list(friendly_name="Unavailable")[0]
    updated = ws.task_queues(queue.sid).update(task_order="LIFO", reservation_activity_sid=busy.sid)
    assert (updated.task_order, updated.reservation_activity_name) == ("LIFO", "Unavailable")
    assert [q.sid for q in ws.task_queues.list(friendly_name="Billing")] == [queue.sid]
    ws.task_queues(queue.sid).delete()
    assert ws.task_queues.list() == []


def test_workflow_configuration_is_validated_and_nothing_saved(tr: V1) -> None:
    ws = tr.workspaces(tr.workspaces.create(friendly_name="Workflows").sid)
    queue = ws.task_queues.create(friendly_name="Support", target_workers="1==1")
    other = tr.workspaces(tr.workspaces.create(friendly_name="Elsewhere").sid)
    foreign = other.task_queues.create(friendly_name="Theirs")

    def configuration(queue_sid: str, expression: str = "type == 'support'") -> str:
        return json.dumps(
            {
                "task_routing": {
                    "filters": [
                        {
                            "filter_friendly_name": "Support",
                            "expression": expression,
                            "targets": [{"queue": queue_sid}],
                        }
                    ],
                    "default_filter": {"queue": queue.sid},
                }
            }
        )

    bad = {
        "malformed JSON": '{"task_routing": {',
        "unknown queue": configuration("WQ" + "0" * 32),
        "another workspace's queue": configuration(foreign.sid),
        "bad expression": configuration(queue.sid, "type == "),
    }
    for why, text in bad.items():
        assert refused(ws.workflows.create, friendly_name="Routing", configuration=text) == (400, 20001), why
    assert ws.workflows.list() == []

    workflow = ws.workflows.create(
        friendly_name="Routing",
        configuration=configuration(queue.sid),
        assignment_callback_url="https://example.com/assign",
        task_reservation_timeout=30,
    )
    assert (workflow.sid[:2], workflow.task_reservation_timeout) == ("WW", 30)
    assert json.loads(workflow.configuration) == json.loads(configuration(queue.sid))
    assert workflow.assignment_callback_url == "https://example.com/assign"
    assert refused(ws.workflows(workflow.sid).update, configuration=bad["bad expression"]) == (400, 20001)
    assert ws.workflows(workflow.sid).fetch().configuration == configuration(queue.sid)
    assert refused(ws.task_queues(queue.sid).delete) == (400, 20001)  # the workflow routes to it

    renamed = ws.workflows(workflow.sid).update(friendly_name="Routing 2", task_reservation_timeout=45)
    assert (renamed.friendly_name, renamed.task_reservation_timeout) == ("Routing 2", 45)
    ws.workflows(workflow.sid).delete()
    assert ws.workflows.list() == []


def test_lists_page_through_the_v1_envelope(server: str, tr: V1, clinic: Tenant) -> None:
    ws = tr.workspaces(tr.workspaces.create(friendly_name="Paging").sid)
    created = {ws.activities.create(friendly_name=f"State {i}").sid for i in range(7)}
    listed = {a.sid for a in ws.activities.stream(page_size=2)}
    assert created <= listed and len(listed) == 10
    assert len(ws.activities.list(limit=5, page_size=2)) == 5

    raw = httpx.get(
        f"{server}/taskrouter/v1/Workspaces/{ws._solution['sid']}/Activities",
        params={"PageSize": 4},
        auth=(clinic.sid, clinic.token),
    ).json()
    assert set(raw) == {"activities", "meta"} and len(raw["activities"]) == 4
    meta = raw["meta"]
    assert (meta["key"], meta["page"], meta["page_size"], meta["previous_page_url"]) == (
        "activities",
        0,
        4,
        None,
    )
    assert meta["next_page_url"].startswith(f"{settings.PUBLIC_BASE_URL}/taskrouter/v1/Workspaces/")
    assert "PageToken=" in meta["next_page_url"] and meta["first_page_url"].endswith("PageSize=4&Page=0")


def test_workspace_is_invisible_to_other_tenant(server: str, tr: V1, hotel: Tenant) -> None:
    workspace = tr.workspaces.create(friendly_name="Private", template="FIFO")
    ws = tr.workspaces(workspace.sid)
    queue = ws.task_queues.list()[0]
    theirs = taskrouter(server, hotel)
    assert workspace.sid not in {w.sid for w in theirs.workspaces.list()}
    assert refused(theirs.workspaces(workspace.sid).fetch) == (404, 20404)
    assert refused(theirs.workspaces(workspace.sid).update, friendly_name="Mine") == (404, 20404)
    assert refused(theirs.workspaces(workspace.sid).activities.list) == (404, 20404)
    assert refused(theirs.workspaces(workspace.sid).task_queues(queue.sid).fetch) == (404, 20404)
    assert refused(theirs.workspaces(workspace.sid).delete) == (404, 20404)
    # Nor does a queue SID reach into a workspace of one's own.
    own = theirs.workspaces(theirs.workspaces.create(friendly_name="Hotel's").sid)
    assert refused(own.task_queues(queue.sid).fetch) == (404, 20404)
    assert ws.fetch().friendly_name == "Private"


def test_unknown_taskrouter_paths_are_20404(server: str, clinic: Tenant) -> None:
    answer = httpx.get(f"{server}/taskrouter/v1/Nothing", auth=(clinic.sid, clinic.token))
    assert (answer.status_code, answer.json()["code"]) == (404, 20404)
    anonymous = httpx.get(f"{server}/taskrouter/v1/Workspaces")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, 20003)


def test_an_api_key_acts_for_its_own_account(
    server: str, tr: V1, clinic: Tenant, hotel: Tenant, django_db_blocker: pytest.FixtureRequest
) -> None:
    """A v1 path names no account: the key's own is meant, and only its own."""
    ours = tr.workspaces.create(friendly_name="Front desk")
    theirs = taskrouter(server, hotel).workspaces.create(friendly_name="Reservations")
    with django_db_blocker.unblock(), tenant_scope(clinic.account.id):  # type: ignore[attr-defined]
        issued = api_key_create(account=clinic.account, friendly_name="routing app", actor="test")
    by_key = sdk(server, issued.key.sid, issued.secret, account_sid=clinic.sid).taskrouter.v1
    assert [w.sid for w in by_key.workspaces.list()] == [ours.sid]
    assert refused(by_key.workspaces(theirs.sid).fetch) == (404, 20404)
    wrong = sdk(server, issued.key.sid, "not-the-secret").taskrouter.v1
    assert refused(wrong.workspaces.list) == (401, 20003)
    # The 2010 API still needs the account in its path for a key: the Accounts list names none.
    answer = httpx.get(f"{server}/2010-04-01/Accounts.json", auth=(issued.key.sid, issued.secret))
    assert (answer.status_code, answer.json()["code"]) == (401, 20003)


def test_agent_lost_action_is_set_on_create_and_update_and_checked(
    server: str, tr: V1, clinic: Tenant
) -> None:
    """The platform's own setting (docs/console.md): what a caller gets when the agent's leg is lost."""
    workspace = tr.workspaces.create(friendly_name="Front desk")
    url = f"{server}/taskrouter/v1/Workspaces/{workspace.sid}"
    auth = (clinic.sid, clinic.token)
    assert httpx.get(url, auth=auth).json()["agent_lost_action"] == "requeue"
    assert (
        httpx.post(url, data={"AgentLostAction": "redial"}, auth=auth).json()["agent_lost_action"] == "redial"
    )
    bad = httpx.post(url, data={"AgentLostAction": "shrug"}, auth=auth)
    assert bad.status_code == 400 and httpx.get(url, auth=auth).json()["agent_lost_action"] == "redial"
    created = httpx.post(
        f"{server}/taskrouter/v1/Workspaces",
        data={"FriendlyName": "Night desk", "AgentLostAction": "hangup"},
        auth=auth,
    )
    assert created.json()["agent_lost_action"] == "hangup"
