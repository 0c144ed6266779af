"""The demo clinic's assistant: `manage.py demo_tenant` seeds it once, on a number of its own that
answers with the scripted agent, handing off to the front desk."""

import io

from django.conf import settings
from django.core.management import call_command

from ai.demo import DEMO_AGENT_NUMBER
from ai.handoff import agent_twiml
from ai.models import Agent
from contactcenter.taskrouter.models import Workflow
from core.tenancy import tenant_scope
from numbering.models import IncomingPhoneNumber
from tenants.demo import DEMO_ACCOUNT_ID
from twiml.builder import to_xml


def test_demo_tenant_seeds_the_assistant_once_on_its_number(db: None) -> None:
    call_command("demo_tenant", stdout=io.StringIO())
    out = io.StringIO()
    call_command("demo_tenant", stdout=out)

    with tenant_scope(DEMO_ACCOUNT_ID):
        (agent,) = Agent.objects.all()
        number = IncomingPhoneNumber.objects.get(phone_number=DEMO_AGENT_NUMBER)
        assert number.voice_url == f"{settings.PUBLIC_BASE_URL}/agents/{agent.sid}/twiml"
        assert agent.brain == "scripted" and agent.faq_entries.count() == 3
        assert agent.handoff_workflow_sid == Workflow.objects.get(friendly_name="Front desk").sid
        assert "<ConversationRelay" in to_xml(agent_twiml(agent))
    assert DEMO_AGENT_NUMBER in out.getvalue() and f"/agents/{agent.sid}/" in out.getvalue()
