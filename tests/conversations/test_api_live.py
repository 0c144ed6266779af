"""The native conversations API on a real uvicorn server, with data committed as production commits it.

Here the voice hooks run after real commits (no test transaction), and requests come over HTTP
with Basic auth as any client would send them.
"""


import httpx
import pytest
from django.db import transaction

from tests.conftest import Tenant, make_tenant
from tests.conversations.factories import inbound_call, number, recording

pytestmark = pytest.mark.e2e

CLINIC, PATIENT = "+12025550170", "+14155550170"


@pytest.fixture(scope="module")
def tenants(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> tuple[Tenant, Tenant]:
    """A clinic with an answered-and-recorded call from a patient, and an unrelated hotel."""
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        clinic, hotel = make_tenant("Live clinic"), make_tenant("Live hotel")
        with transaction.atomic():
            number(clinic, CLINIC)
        recording(inbound_call(PATIENT, CLINIC))
    return clinic, hotel


def _client(server: str, tenant: Tenant) -> httpx.Client:
    return httpx.Client(base_url=f"{server}/api/v1", auth=(tenant.sid, tenant.token), timeout=10)


def test_timeline_paging_notes_and_search_over_http(server: str, tenants: tuple[Tenant, Tenant]) -> None:
    clinic, _ = tenants
    with _client(server, clinic) as api:
        [conversation] = api.get("/conversations").json()["conversations"]
        assert conversation["contact"]["phone_number"] == PATIENT and conversation["tenant_number"] == CLINIC
        assert conversation["last_item"]["kind"] == "recording" and conversation["unread_count"] == 1

        kinds, url = [], f"/conversations/{conversation['sid']}/items?page_size=1"
        while url:
            page = api.get(url.removeprefix("/api/v1")).json()
            kinds += [item["kind"] for item in page["items"]]
            url = page["next_page_url"]
        assert kinds == ["recording", "call"]

        added = api.post(
            f"/conversations/{conversation['sid']}/notes", json={"text": "Wants a call back at 4"}
        )
        assert added.status_code == 201, added.text
        assert api.get(conversation["items_url"].removeprefix("/api/v1")).json()["items"][0] == added.json()
        [hit] = api.get("/search", params={"q": "call back"}).json()["items"]
        assert hit["sid"] == added.json()["sid"] and hit["contact"]["phone_number"] == PATIENT


def test_conversation_is_invisible_to_other_tenant_over_http(
    server: str, tenants: tuple[Tenant, Tenant]
) -> None:
    clinic, hotel = tenants
    with _client(server, clinic) as api:
        sid = api.get("/conversations").json()["conversations"][0]["sid"]
    with _client(server, hotel) as other:
        assert other.get("/conversations").json()["conversations"] == []
        assert other.get("/search", params={"q": "patient"}).json()["items"] == []
        for response in (
            other.get(f"/conversations/{sid}"),
            other.get(f"/conversations/{sid}/items"),
            other.post(f"/conversations/{sid}/notes", json={"text": "not yours"}),
        ):
            assert response.status_code == 404
            assert response.json()["code"] == 20404


def test_requests_without_credentials_are_refused_like_the_twilio_api(server: str) -> None:
    response = httpx.get(f"{server}/api/v1/conversations", timeout=10)
    assert response.status_code == 401 and response.json()["code"] == 20003
    assert response.headers["WWW-Authenticate"] == 'Basic realm="Twilio API"'
