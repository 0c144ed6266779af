"""`manage.py demo_tenant`: make sure the demo tenant exists and print how to use it.

It lives in ai, the highest app whose demo part it seeds: the account and owner (tenants), the number
(numbering), the sandbox carrier (messaging), the front desk (contactcenter) and the AI assistant with
its own number (ai)."""

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from ai.demo import DEMO_AGENT_NUMBER, demo_agent_ensure
from contactcenter.demo import RECEPTION_SIP, demo_front_desk_ensure
from messaging.demo import sandbox_connector_ensure
from numbering.demo import DEMO_NUMBER, demo_number_ensure
from tenants.demo import demo_tenant_ensure
from voice.models import MediaServer


class Command(BaseCommand):
    help = "Create the demo tenant (once) and print its portal login and API credentials."

    def handle(self, *args: Any, **options: Any) -> None:
        demo = demo_tenant_ensure()
        demo_number_ensure(account=demo.account)
        sandbox = sandbox_connector_ensure()
        desk = demo_front_desk_ensure(account=demo.account)
        assistant = demo_agent_ensure(account=demo.account, desk=desk)
        inspect = f"http://127.0.0.1:{os.environ.get('SMSC_HTTP_PORT', '2780')}"
        base = settings.PUBLIC_BASE_URL
        server = MediaServer.objects.filter(is_enabled=True).order_by("id").first()
        sip = server.sip_address if server else "(no media server: run `manage.py asterisk setup`)"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Switchboard is running.",
                    f"  Portal:       {base}/   (sign in as {demo.email} / {demo.password};",
                    "                the owner role sets up two-factor sign-in on first login)",
                    f"  API base:     {base}/2010-04-01/Accounts/{demo.account.sid}/",
                    f"  API docs:     {base}/api/docs/",
                    f"  AccountSid:   {demo.account.sid}",
                    f"  AuthToken:    {demo.account.auth_token}",
                    f"  Calls enter:  SIP {sip}; the demo IVR answers {DEMO_NUMBER}",
                    "                (place a call: scripts/call-demo 2; then see Calls in the portal)",
                    f"  Texts leave:  via {sandbox.name} ({sandbox.host}:{sandbox.port}), an SMPP sandbox",
                    f"                carrier; what it received: {inspect}/submissions",
                    f"  Text us:      scripts/text-demo 'hello' (a text from +14155550199 to {DEMO_NUMBER};",
                    "                the reply and the thread are in the portal's Inbox)",
                    f"  Front desk:   worker Reception (Available) answers at {RECEPTION_SIP}",
                    "                (scripts/agent-demo & then scripts/call-demo 4; see Routing, Queues;",
                    f"                TaskRouter: {base}/taskrouter/v1/Workspaces/{desk.workspace.sid})",
                    f"  AI agent:     {assistant.friendly_name} answers {DEMO_AGENT_NUMBER} (scripted,",
                    "                offline: scripts/call-demo agent); its page and test console:",
                    f"                {base}/agents/{assistant.sid}/",
                    "",
                ]
            )
        )
