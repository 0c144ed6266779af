"""Actions the portal cannot take back ask first (tenants.portal.Confirmation): releasing a number and
revoking an API key show a page naming what they stop, and happen only on that page's confirming
POST; a one-click POST, or a confirmation of another object, changes nothing."""

import base64

from django.test import Client

from compliance.models import AuditEntry
from core.tenancy import tenant_activate
from numbering.models import IncomingPhoneNumber
from numbering.services import number_create
from tenants.models import ApiKey, Role
from tenants.services import api_key_create, membership_add, user_create
from tests.conftest import Tenant

LOBBY, DESK = "+15017122661", "+15017122662"


def developer(tenant: Tenant) -> Client:
    email = f"dev@{tenant.account.friendly_name.split()[-1].lower()}.example"
    tenant_activate(tenant.account.id)
    membership_add(
        account=tenant.account,
        user=user_create(email=email, password="pw-123456789"),
        role=Role.DEVELOPER,
        actor="t",
    )
    client = Client()
    assert client.post("/login/", {"email": email, "password": "pw-123456789"}).status_code == 302
    return client


def numbers(tenant: Tenant) -> set[str]:
    tenant_activate(tenant.account.id)
    return set(IncomingPhoneNumber.objects.values_list("phone_number", flat=True))


def test_releasing_a_number_says_what_stops_and_waits_for_the_confirmation(tenant_a: Tenant) -> None:
    client = developer(tenant_a)
    tenant_activate(tenant_a.account.id)  # the requests left the test's transaction in another scope
    lobby = number_create(account=tenant_a.account, actor="t", phone_number=LOBBY, friendly_name="Lobby")
    desk = number_create(account=tenant_a.account, actor="t", phone_number=DESK)
    url = f"/numbers/{lobby.sid}/release/"

    listed = client.get("/numbers/").content.decode()
    asked = client.get(url).content.decode()
    one_click = client.post(url)
    other_number = client.post(url, {"confirm": desk.sid})

    assert f'href="{url}"' in listed
    assert f"<h1>Release {LOBBY}?</h1>" in asked
    assert f"Calls and texts to {LOBBY} (Lobby) stop reaching this account at once." in asked
    assert f'<input type="hidden" name="confirm" value="{lobby.sid}">' in asked
    assert one_click.status_code == 200 and f"<h1>Release {LOBBY}?</h1>" in one_click.content.decode()
    assert other_number.status_code == 200
    assert numbers(tenant_a) == {LOBBY, DESK}

    released = client.post(url, {"confirm": lobby.sid})

    assert released.status_code == 302 and released["Location"] == "/numbers/"
    assert numbers(tenant_a) == {DESK}
    assert AuditEntry.objects.get(action="incoming_phone_number.delete").actor == "user:dev@a.example"


def test_revoking_a_key_names_it_and_waits_for_the_confirmation(tenant_a: Tenant) -> None:
    client = developer(tenant_a)
    tenant_activate(tenant_a.account.id)
    issued = api_key_create(account=tenant_a.account, friendly_name="Billing server", actor="t")
    other = api_key_create(account=tenant_a.account, friendly_name="Lab", actor="t")
    url = f"/keys/{issued.key.sid}/revoke/"
    credentials = base64.b64encode(f"{issued.key.sid}:{issued.secret}".encode()).decode()

    def api_status() -> int:
        response = Client().get(
            f"/2010-04-01/Accounts/{tenant_a.sid}/IncomingPhoneNumbers.json",
            HTTP_AUTHORIZATION=f"Basic {credentials}",
        )
        return response.status_code

    listed = client.get("/keys/").content.decode()
    asked = client.get(url).content.decode()
    one_click = client.post(url)
    other_key = client.post(url, {"confirm": other.key.sid})

    assert f'href="{url}"' in listed
    assert f"<h1>Revoke the API key “Billing server” ({issued.key.sid})?</h1>" in asked
    assert f"Requests signed with {issued.key.sid} are refused from now on" in asked
    assert one_click.status_code == 200 and other_key.status_code == 200
    assert api_status() == 200

    revoked = client.post(url, {"confirm": issued.key.sid})

    assert revoked.status_code == 302 and revoked["Location"] == "/keys/"
    tenant_activate(tenant_a.account.id)
    assert set(ApiKey.objects.values_list("friendly_name", flat=True)) == {"Lab"}
    assert api_status() == 401


def test_confirmation_pages_are_invisible_to_other_tenant(tenant_a: Tenant, tenant_b: Tenant) -> None:
    tenant_activate(tenant_a.account.id)
    lobby = number_create(account=tenant_a.account, actor="t", phone_number=LOBBY)
    issued = api_key_create(account=tenant_a.account, friendly_name="Billing server", actor="t")
    outsider = developer(tenant_b)

    for url, token in (
        (f"/numbers/{lobby.sid}/release/", lobby.sid),
        (f"/keys/{issued.key.sid}/revoke/", issued.key.sid),
    ):
        assert outsider.get(url).status_code == 404
        assert outsider.post(url, {"confirm": token}).status_code == 404

    tenant_activate(tenant_a.account.id)
    assert numbers(tenant_a) == {LOBBY} and ApiKey.objects.filter(id=issued.key.id).exists()
