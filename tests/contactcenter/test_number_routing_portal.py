"""A number's routing settings in the portal: linked from the numbers page, saved through the audited
service, and nothing saved for another tenant's number or workflow, a channel the workflow's workspace
lacks, or a role that may not change numbers."""

from django.test import Client

from compliance.models import AuditEntry
from contactcenter.taskrouter.models import NumberRouting, TaskChannel, Workflow
from core.tenancy import tenant_activate
from numbering.models import IncomingPhoneNumber
from numbering.services import number_create
from tenants.models import Role
from tests.conftest import Tenant
from tests.contactcenter.taskrouter.factories import make_workspace
from tests.voice.test_portal_calls import _signed_in


def _number(tenant: Tenant, phone_number: str) -> IncomingPhoneNumber:
    tenant_activate(tenant.account.id)
    return number_create(account=tenant.account, actor="test", phone_number=phone_number)


def _workflow(tenant: Tenant) -> Workflow:
    setup = make_workspace(tenant.account)
    queue = setup.queue("Everyone")
    return setup.workflow({"filters": [], "default_filter": {"queue": queue.sid}})


def _routings(tenant: Tenant) -> list[tuple[str, str, str]]:
    tenant_activate(tenant.account.id)
    return [
        (r.phone_number.phone_number, r.workflow.sid, r.task_channel.unique_name)
        for r in NumberRouting.objects.select_related("phone_number", "workflow", "task_channel")
    ]


def test_the_numbers_page_links_to_a_numbers_routing_which_saves_and_clears_it(tenant_a: Tenant) -> None:
    number = _number(tenant_a, "+12065550161")
    workflow = _workflow(tenant_a)
    client = _signed_in(tenant_a, Role.DEVELOPER)
    path = f"/numbers/{number.sid}/routing/"
    assert path in client.get("/numbers/").content.decode()
    page = client.get(path).content.decode()
    assert f"Front desk: {workflow.friendly_name}" in page and 'value="sms" selected' in page

    saved = client.post(path, {"workflow": str(workflow.id), "task_channel": "chat"})
    assert saved.status_code == 200 and "Saved." in saved.content.decode()
    assert _routings(tenant_a) == [("+12065550161", workflow.sid, "chat")]
    again = client.get(path).content.decode()
    assert f'value="{workflow.id}" selected' in again and 'value="chat" selected' in again

    client.post(path, {"workflow": "", "task_channel": "sms"})
    assert _routings(tenant_a) == []
    tenant_activate(tenant_a.account.id)
    actions = list(
        AuditEntry.objects.filter(object_sid=number.sid, action__startswith="number_routing")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["number_routing.update", "number_routing.delete"]


def test_another_tenants_number_or_workflow_and_bad_choices_save_nothing(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    theirs = _number(tenant_b, "+12065550162")
    their_workflow = _workflow(tenant_b)
    number = _number(tenant_a, "+12065550163")
    workflow = _workflow(tenant_a)
    TaskChannel.objects.filter(workspace=workflow.workspace, unique_name="video").delete()
    make_workspace(tenant_a.account)  # another workspace of theirs has a video channel
    client = _signed_in(tenant_a, Role.DEVELOPER)
    path = f"/numbers/{number.sid}/routing/"

    assert client.get(f"/numbers/{theirs.sid}/routing/").status_code == 404
    assert client.post(f"/numbers/{theirs.sid}/routing/", {"workflow": str(workflow.id)}).status_code == 404
    for bad in (
        {"workflow": str(their_workflow.id), "task_channel": "sms"},  # not a choice: another tenant's
        {"workflow": "not-a-workflow", "task_channel": "sms"},
        {"workflow": str(workflow.id), "task_channel": "fax"},  # no such channel anywhere
        {"workflow": str(workflow.id), "task_channel": "video"},  # not in this workflow's workspace
    ):
        answer = client.post(path, bad)
        assert answer.status_code == 200 and "Saved." not in answer.content.decode(), bad
    assert "has no video channel" in answer.content.decode()
    assert _routings(tenant_a) == [] and _routings(tenant_b) == []


def test_roles_that_may_not_change_numbers_are_refused(tenant_a: Tenant) -> None:
    number = _number(tenant_a, "+12065550164")
    workflow = _workflow(tenant_a)
    path = f"/numbers/{number.sid}/routing/"
    supervisor = _signed_in(tenant_a, Role.SUPERVISOR)
    assert supervisor.get(path).status_code == 403
    assert supervisor.post(path, {"workflow": str(workflow.id), "task_channel": "sms"}).status_code == 403
    assert Client().get(path).status_code == 302  # to sign-in
    assert _routings(tenant_a) == []
