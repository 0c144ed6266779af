"""The routing pages: workspaces, a workspace's board (queues, workers, what each holds), a worker's
activity changed from it, the worker and task queue forms; roles, another tenant's SIDs, and the
board's queries flat as workers and tasks grow."""

import json
import re

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from contactcenter.taskrouter.engine import workspace_route
from contactcenter.taskrouter.models import (
    Activity,
    Event,
    Reservation,
    TaskQueue,
    TaskQueueWorker,
    Worker,
    Workflow,
    Workspace,
)
from contactcenter.taskrouter.task_lifecycle import task_create
from contactcenter.taskrouter.workers import worker_create
from contactcenter.taskrouter.workspaces import FIFO_TEMPLATE, workspace_create
from core.tenancy import tenant_activate
from tenants.models import Role
from tenants.services import membership_add, user_create
from tests.conftest import Tenant

PASSWORD = "pw-123456789"


def signed_in(tenant: Tenant, role: Role) -> Client:
    email = f"{role}@{tenant.account.sid.lower()}.example"
    tenant_activate(tenant.account.id)
    membership_add(
        account=tenant.account, user=user_create(email=email, password=PASSWORD), role=role, actor="t"
    )
    client = Client()
    assert client.post("/login/", {"email": email, "password": PASSWORD}).status_code == 302
    tenant_activate(tenant.account.id)  # the request's transaction scoping is the test's transaction
    return client


def front_desk(tenant: Tenant) -> Workspace:
    """A workspace as the portal makes one: TaskRouter's defaults and the FIFO queue and workflow."""
    tenant_activate(tenant.account.id)
    return workspace_create(
        account=tenant.account, actor="t", friendly_name="Front desk", template=FIFO_TEMPLATE
    )


def activity(workspace: Workspace, name: str) -> Activity:
    return Activity.objects.get(workspace=workspace, friendly_name=name)


def worker(workspace: Workspace, name: str, activity_name: str = "Offline", **attributes: object) -> Worker:
    return worker_create(
        workspace=workspace,
        friendly_name=name,
        attributes=json.dumps(attributes),
        activity_sid=activity(workspace, activity_name).sid,
    )


def task(workspace: Workspace) -> None:
    task_create(
        workspace=workspace,
        workflow_sid=None,
        attributes='{"type": "support"}',
        priority=None,
        timeout=None,
        task_channel=None,
    )


def row(page: str, marker: str) -> str:
    """The table row carrying `marker` (a data-queue or data-worker SID)."""
    start = page.index(marker)
    return page[start : page.index("</tr>", start)]


def cell(row_html: str, attribute: str) -> str:
    found = re.search(rf'{attribute}"[^>]*>(.*?)</td>', row_html, re.S)
    assert found, (attribute, row_html)
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def test_routing_needs_sign_in(db: None) -> None:
    response = Client().get("/routing/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/routing/"


def test_a_supervisor_creates_a_workspace_with_twilios_defaults(tenant_a: Tenant) -> None:
    client = signed_in(tenant_a, Role.SUPERVISOR)

    response = client.post("/routing/", {"friendly_name": "Front desk", "with_fifo_queue": "on"})

    tenant_activate(tenant_a.account.id)
    workspace = Workspace.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/routing/{workspace.sid}/"
    names = set(Activity.objects.filter(workspace=workspace).values_list("friendly_name", flat=True))
    assert names == {"Offline", "Available", "Unavailable"}
    assert workspace.default_activity.friendly_name == "Offline"  # type: ignore[union-attr]
    assert TaskQueue.objects.get(workspace=workspace).target_workers == "1==1"
    assert Workflow.objects.filter(workspace=workspace).count() == 1
    listing = client.get("/routing/").content.decode()
    assert f'href="/routing/{workspace.sid}/"' in listing and 'href="/routing/"' in listing  # nav link


def test_the_board_shows_what_waits_and_what_each_worker_holds(tenant_a: Tenant) -> None:
    workspace = front_desk(tenant_a)
    alice = worker(workspace, "Alice", "Available")
    bob = worker(workspace, "Bob", "Offline")
    task(workspace)
    task(workspace)
    workspace_route(workspace_id=workspace.id, account_id=tenant_a.account.id)  # Alice is offered one
    client = signed_in(tenant_a, Role.SUPERVISOR)

    page = client.get(f"/routing/{workspace.sid}/").content.decode()

    tenant_activate(tenant_a.account.id)
    queue = TaskQueue.objects.get(workspace=workspace)
    line = row(page, f'data-queue="{queue.sid}"')
    assert "Sample Queue" in line
    assert (cell(line, "waiting"), cell(line, "pending"), cell(line, "reserved")) == ("2", "1", "1")
    assert cell(line, "workers") == "1 of 2"  # available of eligible
    assert re.search(r'data-since="\d+">since \d\d:\d\d:\d\d UTC', cell_html(line, "longest"))
    alices = row(page, f'data-worker="{alice.sid}"')
    assert cell(alices, 'data-channel="default') == "1/1 1 pending"
    assert cell(alices, 'data-channel="voice') == "0/1"
    assert f'value="{activity(workspace, "Available").id}" selected' in alices
    assert 'class="available"' in alices
    assert 'class="unavailable"' in row(page, f'data-worker="{bob.sid}"')
    assert "1 Offline · 1 Available · 0 Unavailable" in page
    assert 'data-live-socket="/ws/routing/' + workspace.sid in page


def cell_html(row_html: str, attribute: str) -> str:
    return row_html[row_html.index(f'data-count="{attribute}"') :]


def test_a_supervisor_makes_a_worker_available_from_the_board(tenant_a: Tenant) -> None:
    workspace = front_desk(tenant_a)
    alice = worker(workspace, "Alice")
    available = activity(workspace, "Available")
    client = signed_in(tenant_a, Role.SUPERVISOR)

    response = client.post(
        f"/routing/{workspace.sid}/workers/{alice.sid}/activity/",
        {"activity": str(available.id)},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    fragment = response.content.decode()
    assert 'id="task-queues"' in fragment and "<html" not in fragment  # the board, for htmx to swap in
    assert f'value="{available.id}" selected' in row(fragment, f'data-worker="{alice.sid}"')
    tenant_activate(tenant_a.account.id)
    alice.refresh_from_db()
    assert (alice.activity_id, alice.available) == (available.id, True)
    assert Event.objects.filter(event_type="worker.activity.update", resource_sid=alice.sid).exists()
    plain = client.post(
        f"/routing/{workspace.sid}/workers/{alice.sid}/activity/",
        {"activity": str(activity(workspace, "Offline").id)},
    )
    assert plain.status_code == 302 and plain["Location"] == f"/routing/{workspace.sid}/"


def test_an_activity_of_another_workspace_is_refused(tenant_a: Tenant) -> None:
    workspace = front_desk(tenant_a)
    alice = worker(workspace, "Alice")
    elsewhere = workspace_create(account=tenant_a.account, actor="t", friendly_name="Annex")
    stranger = activity(elsewhere, "Available")
    client = signed_in(tenant_a, Role.SUPERVISOR)

    response = client.post(
        f"/routing/{workspace.sid}/workers/{alice.sid}/activity/", {"activity": str(stranger.id)}
    )

    assert response.status_code == 400
    tenant_activate(tenant_a.account.id)
    alice.refresh_from_db()
    assert alice.activity_id == activity(workspace, "Offline").id


def test_a_new_workers_activities_are_offered_by_name_the_workspaces_default_chosen(tenant_a: Tenant) -> None:
    workspace = front_desk(tenant_a)
    client = signed_in(tenant_a, Role.SUPERVISOR)

    page = client.get(f"/routing/{workspace.sid}/workers/new/").content.decode()

    offline = activity(workspace, "Offline")
    assert f'<option value="{offline.id}" selected>Offline</option>' in page
    assert ">Available</option>" in page and "Activity object" not in page


def test_a_workers_form_checks_its_attributes_and_contact_uri_and_saves_nothing_bad(tenant_a: Tenant) -> None:
    workspace = front_desk(tenant_a)
    client = signed_in(tenant_a, Role.SUPERVISOR)
    url = f"/routing/{workspace.sid}/workers/new/"
    offline = activity(workspace, "Offline")

    not_json = client.post(url, {"friendly_name": "Alice", "attributes": "{skills", "activity": offline.id})
    not_object = client.post(url, {"friendly_name": "Alice", "attributes": "[1]", "activity": offline.id})
    bad_uri = client.post(
        url, {"friendly_name": "Alice", "attributes": "{}", "contact_uri": "alice", "activity": offline.id}
    )

    assert "Not valid JSON" in not_json.content.decode()
    assert "Attributes must be a JSON object" in not_object.content.decode()
    assert "Enter a SIP URI" in bad_uri.content.decode()
    tenant_activate(tenant_a.account.id)
    assert not Worker.objects.exists()

    created = client.post(
        url,
        {
            "friendly_name": "Alice",
            "attributes": '{"skills": ["billing"], "contact_uri": "sip:old@example.com"}',
            "contact_uri": "sip:alice@pbx.example.com",
            "activity": activity(workspace, "Available").id,
        },
    )
    assert created.status_code == 302
    tenant_activate(tenant_a.account.id)
    alice = Worker.objects.get()
    assert alice.attributes_json == {"skills": ["billing"], "contact_uri": "sip:alice@pbx.example.com"}
    assert alice.available

    edit = client.get(f"/routing/{workspace.sid}/workers/{alice.sid}/").content.decode()
    assert (
        'value="sip:alice@pbx.example.com"' in edit and "{&quot;skills&quot;: [&quot;billing&quot;]}" in edit
    )
    tenant_activate(tenant_a.account.id)
    taken = worker(workspace, "Bob")
    renamed = client.post(
        f"/routing/{workspace.sid}/workers/{alice.sid}/",
        {"friendly_name": taken.friendly_name, "attributes": "{}", "contact_uri": ""},
    )
    assert "already exists" in renamed.content.decode()  # the engine's refusal, on the form
    client.post(
        f"/routing/{workspace.sid}/workers/{alice.sid}/",
        {
            "friendly_name": "Alice B.",
            "attributes": '{"skills": ["sales"]}',
            "contact_uri": "+1 202 555 0142",
        },
    )
    tenant_activate(tenant_a.account.id)
    alice.refresh_from_db()
    assert alice.friendly_name == "Alice B."
    assert alice.attributes_json == {"skills": ["sales"], "contact_uri": "+12025550142"}


def test_a_task_queue_with_a_bad_expression_shows_the_parsers_message_and_saves_nothing(
    tenant_a: Tenant,
) -> None:
    workspace = front_desk(tenant_a)
    alice = worker(workspace, "Alice", skills=["billing"])
    worker(workspace, "Bob", skills=["sales"])
    client = signed_in(tenant_a, Role.SUPERVISOR)
    url = f"/routing/{workspace.sid}/queues/new/"
    fields = {"friendly_name": "Billing", "max_reserved_workers": 1, "task_order": "FIFO"}

    refused = client.post(url, {**fields, "target_workers": 'skills HAS "billing" AND'})

    assert refused.status_code == 200
    assert (
        "Expected a name, a constant or a list, found the end of the expression" in refused.content.decode()
    )
    tenant_activate(tenant_a.account.id)
    assert not TaskQueue.objects.filter(friendly_name="Billing").exists()

    created = client.post(url, {**fields, "target_workers": 'skills HAS "billing"'})
    assert created.status_code == 302
    tenant_activate(tenant_a.account.id)
    billing = TaskQueue.objects.get(friendly_name="Billing")
    assert list(TaskQueueWorker.objects.filter(task_queue=billing).values_list("worker_id", flat=True)) == [
        alice.id
    ]
    edit_url = f"/routing/{workspace.sid}/queues/{billing.sid}/"
    assert 'value="skills HAS &quot;billing&quot;"' in client.get(edit_url).content.decode()
    bad_edit = client.post(edit_url, {**fields, "target_workers": "skills HAS"})
    assert "found the end of the expression" in bad_edit.content.decode()
    client.post(edit_url, {**fields, "target_workers": "1==1", "task_order": "LIFO"})
    tenant_activate(tenant_a.account.id)
    billing.refresh_from_db()
    assert (billing.target_workers, billing.task_order) == ("1==1", "LIFO")
    assert TaskQueueWorker.objects.filter(task_queue=billing).count() == 2  # matched again


def test_another_tenants_workspace_is_invisible_to_other_tenant(tenant_a: Tenant, tenant_b: Tenant) -> None:
    theirs = front_desk(tenant_b)
    their_worker = worker(theirs, "Their Alice")
    their_queue = TaskQueue.objects.get(workspace=theirs)
    their_available = activity(theirs, "Available")
    mine = front_desk(tenant_a)
    my_worker = worker(mine, "Alice")
    client = signed_in(tenant_a, Role.SUPERVISOR)
    pages = [
        f"/routing/{theirs.sid}/",
        f"/routing/{theirs.sid}/workers/new/",
        f"/routing/{theirs.sid}/workers/{their_worker.sid}/",
        f"/routing/{theirs.sid}/queues/{their_queue.sid}/",
        f"/routing/{mine.sid}/workers/{their_worker.sid}/",  # my workspace, their worker
        f"/routing/{mine.sid}/queues/{their_queue.sid}/",
        "/routing/WSnot-a-sid/",
    ]
    assert [client.get(path).status_code for path in pages] == [404] * len(pages)
    moved = client.post(
        f"/routing/{theirs.sid}/workers/{their_worker.sid}/activity/", {"activity": str(their_available.id)}
    )
    assert moved.status_code == 404
    assert theirs.sid not in client.get("/routing/").content.decode()
    tenant_activate(tenant_b.account.id)
    their_worker.refresh_from_db()
    assert not their_worker.available
    assert my_worker.workspace_id == mine.id


def test_an_auditor_reads_the_board_and_changes_nothing_and_an_agent_is_refused(
    tenant_a: Tenant,
) -> None:
    workspace = front_desk(tenant_a)
    alice = worker(workspace, "Alice")
    available = activity(workspace, "Available")
    auditor, agent = signed_in(tenant_a, Role.AUDITOR), signed_in(tenant_a, Role.AGENT)

    page = auditor.get(f"/routing/{workspace.sid}/").content.decode()

    assert "Alice" in page and 'name="activity"' not in page and "Add a worker" not in page
    assert auditor.post("/routing/", {"friendly_name": "Mine"}).status_code == 200  # no form to post
    refused = [
        auditor.post(f"/routing/{workspace.sid}/workers/{alice.sid}/activity/", {"activity": available.id}),
        auditor.get(f"/routing/{workspace.sid}/workers/new/"),
        auditor.get(f"/routing/{workspace.sid}/queues/new/"),
        agent.get("/routing/"),
        agent.get(f"/routing/{workspace.sid}/"),
    ]
    assert [response.status_code for response in refused] == [403] * len(refused)
    tenant_activate(tenant_a.account.id)
    assert Workspace.objects.count() == 1
    alice.refresh_from_db()
    assert not alice.available


def _board_queries(client: Client, workspace: Workspace) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/routing/{workspace.sid}/").status_code == 200
    return len(queries)


def test_the_boards_queries_stay_flat_as_workers_queues_and_tasks_grow(tenant_a: Tenant) -> None:
    workspace = front_desk(tenant_a)
    worker(workspace, "Alice", "Available")
    task(workspace)
    workspace_route(workspace_id=workspace.id, account_id=tenant_a.account.id)
    client = signed_in(tenant_a, Role.SUPERVISOR)
    few = _board_queries(client, workspace)

    tenant_activate(tenant_a.account.id)
    for n in range(30):
        worker(workspace, f"Worker {n:02}", "Available" if n % 2 else "Offline")
    for name in ("Billing", "Sales", "Spanish"):
        TaskQueue.objects.create(account=tenant_a.account, workspace=workspace, friendly_name=name)
    for _ in range(20):
        task(workspace)
    workspace_route(workspace_id=workspace.id, account_id=tenant_a.account.id)
    assert Reservation.objects.filter(status="pending").count() > 1
    many = _board_queries(client, workspace)

    assert many == few, (few, many)
