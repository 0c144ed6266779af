"""What a call's TwiML may make the platform fetch or dial: documents, fallbacks, Redirect, Play and
Dial Sip go through the destination policy, and Dial presents only the account's caller IDs. The
interpreter runs on an in-memory call (tests/voice/memory.py) against real HTTP apps on loopback:
the tenant's app on 127.0.0.2 (admitted, tests/voice/conftest.py), a service it must not reach on
127.0.0.1."""

import asyncio
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core import egress
from core.errors import TwilioError
from core.tenancy import tenant_activate
from numbering.services import number_create
from tests.conftest import Tenant
from tests.voice.memory import MemoryStore, call_setup, run_call
from tests.voice.twiml_app import TwimlApp, twiml
from twiml.errors import Code
from voice.child_calls import child_call_open
from voice.models import Call
from voice.verbs import target_endpoint

OURS = "+12025550100"


@pytest.fixture
def internal() -> Iterator[TwimlApp]:
    """A service on loopback, as ARI or a database admin page would be."""
    with TwimlApp() as running:
        running.routes["/secret.wav"] = running.routes["/ari"] = twiml("<Response/>")
        yield running


def run(app: TwimlApp, tmp_path: Path, store: MemoryStore | None = None, path: str = "/voice") -> Any:
    store = store or MemoryStore(owned_numbers={OURS})
    return run_call(call_setup(app.url + path), tmp_path, store), store


def test_a_call_whose_url_is_internal_gets_the_application_error(
    app: TwimlApp, internal: TwimlApp, tmp_path: Path
) -> None:
    store = MemoryStore()
    control = run_call(call_setup(internal.url + "/ari"), tmp_path, store)
    assert internal.hits == [] and control.hung_up
    assert [code for code, _ in store.errors] == [11205]
    assert control.played and control.played[0].startswith("sound:switchboard/tts/")


def test_redirect_and_fallback_to_internal_addresses_are_refused(
    app: TwimlApp, internal: TwimlApp, tmp_path: Path
) -> None:
    app.routes["/voice"] = twiml(f"<Response><Redirect>{internal.url}/ari</Redirect></Response>")
    store = MemoryStore()
    setup = call_setup(app.url + "/voice")
    setup = type(setup)(**{**setup.__dict__, "fallback_url": f"http://[::1]:{internal.port}/ari"})
    run_call(setup, tmp_path, store)
    assert internal.hits == [] and len(app.hits) == 1
    assert [code for code, _ in store.errors] == [11205, 11205]
    assert all("not an allowed destination" in message for _, message in store.errors)


def test_play_of_an_internal_url_is_skipped_and_the_call_goes_on(
    app: TwimlApp, internal: TwimlApp, tmp_path: Path
) -> None:
    app.routes["/voice"] = twiml(
        f"<Response><Play>{internal.url}/secret.wav</Play><Redirect>/after</Redirect></Response>"
    )
    app.routes["/after"] = twiml("<Response><Hangup/></Response>")
    _, store = run(app, tmp_path)
    assert internal.hits == [] and app.requests_to("/after")
    [(code, message)] = store.errors
    refused = f"Could not fetch {internal.url}/secret.wav: 127.0.0.1 is not an allowed destination"
    assert code == 11205 and message.startswith(refused) and "SWITCHBOARD_EGRESS_ALLOW" in message


@pytest.mark.parametrize(
    "uri",
    [
        "sip:x@127.0.0.1:5091",
        "sip:x@localhost",
        "sips:x@[::1]",
        "sip:x@169.254.169.254",
        "sip:x@10.0.0.7;transport=tcp",
        "sip:x@127.0.0.2;maddr=127.0.0.1",  # an admitted host, a request sent elsewhere
        "sip:x@127.0.0.2?Route=%3Csip:127.0.0.1:5091%3Blr%3E",
        "sip:x@127.0.0.1:5091?X-A=@127.0.0.2",
        "sip:x@127.0.0.2;lr",
        "sip:x@127.0.0.2:99999",
        "sip:x@127.0.0.2:0",
    ],
)
def test_dial_sip_to_an_internal_host_is_never_placed(app: TwimlApp, tmp_path: Path, uri: str) -> None:
    app.routes["/voice"] = twiml(f'<Response><Dial action="/dialled"><Sip>{uri}</Sip></Dial></Response>')
    app.routes["/dialled"] = twiml("<Response><Hangup/></Response>")
    control, store = run(app, tmp_path)
    assert control.dialled == []
    assert app.requests_to("/dialled")[0].form["DialCallStatus"] == "failed"
    assert [code for code, _ in store.errors] == [11205]


def test_dial_sip_goes_to_the_address_that_was_checked(
    app: TwimlApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asterisk gets the address, never the name: it could resolve the name to another one."""
    real_getaddrinfo = socket.getaddrinfo

    def pbx_test(host: str, *args: Any, **kwargs: Any) -> Any:
        return real_getaddrinfo("127.0.0.2" if host == "pbx.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", pbx_test)
    app.routes["/voice"] = twiml(
        "<Response><Dial><Sip>sip:alice@127.0.0.2:5099;transport=tcp?X-Ref=7</Sip></Dial>"
        "<Dial><Sip>sips:bob@127.0.0.2</Sip></Dial><Dial><Sip>sip:carol@pbx.test</Sip></Dial></Response>"
    )
    control, store = run(app, tmp_path)
    assert [d["endpoint"] for d in control.dialled] == [
        "PJSIP/trunk/sip:alice@127.0.0.2:5099;transport=tcp?X-Ref=7",
        "PJSIP/trunk/sips:bob@127.0.0.2:5061",
        "PJSIP/trunk/sip:carol@127.0.0.2:5060",
    ]
    assert store.errors == []


def test_dial_with_another_tenants_number_as_caller_id_is_13214(app: TwimlApp, tmp_path: Path) -> None:
    app.routes["/voice"] = twiml(
        '<Response><Dial callerId="+14155550111" action="/dialled">+14155550123</Dial></Response>'
    )
    app.routes["/dialled"] = twiml("<Response><Hangup/></Response>")
    control, store = run(app, tmp_path)
    assert control.dialled == [] and [code for code, _ in store.errors] == [13214]
    assert app.requests_to("/dialled")[0].form["DialCallStatus"] == "failed"


@pytest.mark.django_db
def test_a_dial_leg_presents_only_the_accounts_numbers_or_the_caller(
    tenant_a: Tenant, tenant_b: Tenant
) -> None:
    tenant_activate(tenant_b.account.id)
    number_create(account=tenant_b.account, actor="test", phone_number="+14155550111")
    tenant_activate(tenant_a.account.id)
    number_create(account=tenant_a.account, actor="test", phone_number=OURS)
    call = Call.objects.create(
        account=tenant_a.account,
        direction=Call.Direction.INBOUND,
        from_number="+15017122661",
        to_number=OURS,
        status=Call.Status.IN_PROGRESS,
    )
    ids = {"account_id": tenant_a.account.id, "call_id": call.id, "to_number": "+14155550123"}
    ids["media_server_id"] = None
    assert child_call_open(**ids, from_number=OURS)
    assert child_call_open(**ids, from_number="+15017122661")  # forwarding shows who is calling
    with pytest.raises(TwilioError) as refused:
        child_call_open(**ids, from_number="+14155550111")  # tenant B's number
    assert refused.value.twilio_code == 13214


def test_a_redirect_to_a_url_no_host_can_have_ends_the_call_cleanly(app: TwimlApp, tmp_path: Path) -> None:
    app.routes["/voice"] = twiml("<Response><Redirect>http://xn--/next</Redirect></Response>")
    control, store = run(app, tmp_path)
    assert [code for code, _ in store.errors] == [11100] and control.hung_up


def test_a_document_larger_than_twilios_limit_is_11750(app: TwimlApp, tmp_path: Path) -> None:
    app.routes["/voice"] = twiml("<Response>" + "<Pause/>" * 10_000 + "</Response>")
    control, store = run(app, tmp_path)
    assert [code for code, _ in store.errors] == [11750] and control.hung_up


@pytest.mark.parametrize(
    "contact",
    [
        "x@127.0.0.1:5091?X-A=",  # dialled as sip:x@127.0.0.1:5091?X-A=@<trunk>, the form refused above
        "x@127.0.0.1:5091;transport=tcp",
        "1234@127.0.0.1",
        "+14155550100@127.0.0.1",
    ],
)
def test_a_number_that_is_not_one_never_reaches_the_trunks_dial_string(contact: str) -> None:
    """A worker's contact_uri, a TaskRouter instruction's `to` and a callback's number are dialled as
    numbers unless they say sip: or client:; as a number, the text went into `sip:<number>@<trunk>`."""
    with pytest.raises(egress.DestinationRefused) as refused:
        asyncio.run(target_endpoint(contact, trunk_host="127.0.0.2", account_id=uuid.uuid4()))
    assert refused.value.code == Code.NUMBER_FORMAT


def test_a_number_as_people_write_it_goes_through_the_trunk() -> None:
    for number in ("+14155550100", "415-555-0101", "(415) 555 0102"):
        endpoint = asyncio.run(target_endpoint(number, trunk_host="127.0.0.2", account_id=uuid.uuid4()))
        assert endpoint == f"PJSIP/trunk/sip:{number}@127.0.0.2"
