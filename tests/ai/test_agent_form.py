"""The agent's settings form in the portal: the hand-off workflow is chosen from the account's
workflows by name (a newcomer has no WW… SID at hand), and another account's never appear."""

from django.test import Client

from ai.models import Agent
from contactcenter.taskrouter.models import Workflow
from contactcenter.taskrouter.workspaces import FIFO_TEMPLATE, workspace_create
from core.tenancy import tenant_activate
from tenants.models import Role
from tenants.services import membership_add, user_create
from tests.conftest import Tenant

EMAIL, PASSWORD = "developer@agent-form.example", "pw-123456789"


def _desk(tenant: Tenant, name: str) -> Workflow:
    tenant_activate(tenant.account.id)
    workspace = workspace_create(
        account=tenant.account, actor="t", friendly_name=name, template=FIFO_TEMPLATE
    )
    return Workflow.objects.get(workspace=workspace)


def test_the_hand_off_workflow_is_chosen_by_name_from_the_accounts_own(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    theirs = _desk(tenant_b, "Their desk")
    mine = _desk(tenant_a, "Front desk")
    membership_add(
        account=tenant_a.account,
        user=user_create(email=EMAIL, password=PASSWORD),
        role=Role.DEVELOPER,
        actor="t",
    )
    client = Client()
    assert client.post("/login/", {"email": EMAIL, "password": PASSWORD}).status_code == 302

    page = client.get("/agents/").content.decode()
    assert f'<option value="{mine.sid}">Front desk: {mine.friendly_name}</option>' in page
    assert theirs.sid not in page and "Their desk" not in page

    created = client.post(
        "/agents/",
        {"friendly_name": "Night desk", "language": "en-US", "brain": "scripted", "webhook_tools": "[]",
         "max_turns_without_progress": 3, "handoff_workflow_sid": mine.sid},
    )  # fmt: skip
    refused = client.post("/agents/", {"friendly_name": "Theirs", "handoff_workflow_sid": theirs.sid})

    assert created.status_code == 302 and "Select a valid choice" in refused.content.decode()
    tenant_activate(tenant_a.account.id)
    agent = Agent.objects.get()
    assert agent.handoff_workflow_sid == mine.sid
    page = client.get(f"/agents/{agent.sid}/").content.decode()
    assert f'<option value="{mine.sid}" selected>' in page
