"""The demo tenant's texting: its reply app checks signatures and answers in TwiML; the sandbox
carrier becomes the default connector only where no real one is."""

import io

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from core import webhooks
from messaging.demo import SANDBOX, sandbox_connector_ensure
from messaging.models import Connector
from numbering.demo import DEMO_NUMBER
from tenants.demo import demo_tenant_ensure
from twiml import parse_messaging


@pytest.fixture
def demo(db: None) -> str:
    """The demo account's auth token."""
    return str(demo_tenant_ensure().account.auth_token)


def test_the_demo_number_answers_a_signed_text_with_a_reply(demo: str, client: Client) -> None:
    params = {"From": "+14155550199", "To": DEMO_NUMBER, "Body": "hello"}
    signature = webhooks.signature(f"{settings.PUBLIC_BASE_URL}/demo/sms/", params, demo)

    response = client.post("/demo/sms/", params, HTTP_X_TWILIO_SIGNATURE=signature)

    assert response.status_code == 200
    [reply] = parse_messaging(response.content).response.verbs
    assert '"hello"' in reply.body and "STOP" in reply.body


def test_an_unsigned_text_gets_no_reply(demo: str, client: Client) -> None:
    response = client.post("/demo/sms/", {"From": "+14155550199", "To": DEMO_NUMBER, "Body": "hi"})

    assert response.status_code == 403


def test_the_sandbox_is_the_default_carrier_only_when_there_is_none(db: None) -> None:
    Connector.objects.filter(is_default=True).update(is_default=False)
    assert sandbox_connector_ensure().is_default
    Connector.objects.filter(name=SANDBOX).delete()
    Connector.objects.create(name="real-carrier", kind=Connector.Kind.SMPP, is_default=True)

    sandbox = sandbox_connector_ensure()

    assert not sandbox.is_default and (sandbox.host, sandbox.port) == ("127.0.0.1", 2775)
    assert sandbox_connector_ensure() == sandbox  # once


def test_the_demo_banner_says_where_texts_go(db: None) -> None:
    out = io.StringIO()

    call_command("demo_tenant", stdout=out)

    assert "via sandbox (127.0.0.1:2775)" in out.getvalue()
    assert "scripts/text-demo" in out.getvalue()
