"""The demo clinic's AI assistant, so a newcomer's first call to an agent needs no model and no key.

`demo_agent_ensure` gives the demo account a scripted agent, "Clinic assistant", with the clinic's
FAQ (hours, address, parking), every built-in tool, and the front desk's workflow for hand-offs
(contactcenter/demo.py); and a second number, DEMO_AGENT_NUMBER, whose calls the agent answers at
once (its texts go to the demo's reply app, as the IVR number's do). Asking for a person, pressing
0, or three turns it cannot help with put the caller in the front desk's queue with a summary.
"""

from django.conf import settings
from django.db import transaction

from ai.handoff import agent_twiml_url
from ai.models import BUILTIN_TOOLS, Agent
from ai.services import agent_create, agent_update, faq_entry_create
from contactcenter.demo import QUEUE, FrontDesk
from core.tenancy import tenant_activate
from numbering.models import IncomingPhoneNumber
from numbering.services import number_create, number_update
from tenants.models import Account

DEMO_AGENT_NUMBER = "+12025550101"
NAME = "Clinic assistant"
ACTOR = "system:demo"
GREETING = "Hello, this is the Switchboard demo clinic's assistant. How can I help you?"
INSTRUCTIONS = (
    "You answer calls for a small clinic. Be brief and kind; hand over to the front desk when unsure."
)
FAQ = (
    (["opening hours", "when are you open", "open today"], "We are open nine to five, Monday to Friday."),
    (["address", "where are you", "directions"], "Switchboard demo clinic, 1 Example Street."),
    (["parking", "park"], "There is free parking behind the clinic."),
)


def demo_agent_ensure(*, account: Account, desk: FrontDesk) -> Agent:
    """Create the assistant, its FAQ and its number once; on every run point the number and the
    hand-off at this server and the front desk (either may have changed)."""
    with transaction.atomic():
        tenant_activate(account.id)
        agent = Agent.objects.filter(account=account, friendly_name=NAME).first()
        if agent is None:
            agent = agent_create(
                account=account,
                actor=ACTOR,
                friendly_name=NAME,
                instructions=INSTRUCTIONS,
                welcome_greeting=GREETING,
                tools=list(BUILTIN_TOOLS),
                handoff_workflow_sid=desk.workflow.sid,
                handoff_queue=QUEUE,
            )
            for phrases, answer in FAQ:
                faq_entry_create(agent=agent, actor=ACTOR, phrases=phrases, answer=answer)
        elif agent.handoff_workflow_sid != desk.workflow.sid:
            agent = agent_update(agent=agent, actor=ACTOR, handoff_workflow_sid=desk.workflow.sid)
        urls = {
            "voice_url": agent_twiml_url(agent),
            "sms_url": f"{settings.PUBLIC_BASE_URL}/demo/sms/",
        }
        number = IncomingPhoneNumber.objects.filter(account=account, phone_number=DEMO_AGENT_NUMBER).first()
        if number is None:
            number_create(
                account=account,
                actor=ACTOR,
                phone_number=DEMO_AGENT_NUMBER,
                friendly_name="Demo assistant",
                **urls,
            )
        elif number.voice_url != urls["voice_url"]:
            number_update(number=number, actor=ACTOR, voice_url=urls["voice_url"])
    return agent
