"""The demo tenant's texting, so a first message works out of the box: a reply app and a carrier.

Texts to the demo number get an answer from `sms_reply` (MessagingResponse TwiML, signed webhook
checked). Outbound texts leave through the SMPP sandbox (scripts/smsc/smsc.js), which the platform
command runs as a stand-in carrier: it accepts every message, sends delivery receipts, and shows what
it received at its HTTP port.
"""

import os

from django.http import HttpRequest, HttpResponse

from messaging.connectors import connector_save
from messaging.models import Connector
from tenants.demo import demo_view
from twiml import verbs
from twiml.builder import to_xml

SANDBOX = "sandbox"


@demo_view
def sms_reply(request: HttpRequest) -> HttpResponse:
    body = request.POST.get("Body", "").strip()
    reply = verbs.Message(
        body=f'Thanks for texting the Switchboard demo clinic. We got: "{body[:100]}". '
        "A person reads these in the portal's Inbox. Reply STOP to opt out."
    )
    return HttpResponse(to_xml(verbs.MessagingResponse.of(reply)), content_type="text/xml")


def sandbox_connector_ensure() -> Connector:
    """The SMPP sandbox as a connector; the default one only if no other is (a real carrier wins)."""
    existing = Connector.objects.filter(name=SANDBOX).first()
    if existing is not None:
        return existing
    connector = Connector(
        name=SANDBOX,
        kind=Connector.Kind.SMPP,
        host="127.0.0.1",
        port=int(os.environ.get("SMSC_PORT", "2775")),
        system_id="switchboard",
        is_default=not Connector.objects.filter(is_default=True).exists(),
    )
    connector.set_password("secret")  # noqa: S106  (the sandbox's published login)
    return connector_save(connector=connector, actor="system:demo")
