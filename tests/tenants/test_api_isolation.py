"""Tenant B's credentials can name tenant A's SIDs on every resource and still see nothing."""

import pytest

from core.tenancy import tenant_activate
from monitor.notifications import notification_record
from numbering.services import number_create
from tenants.services import api_key_create
from tests.conftest import Tenant, TwilioClient, make_subaccount
from voice.models import Call
from voice.recordings import recording_store


@pytest.fixture
def a_sids(tenant_a: Tenant) -> dict[str, str]:
    tenant_activate(tenant_a.account.id)
    number = number_create(account=tenant_a.account, actor="test", phone_number="+15017122661")
    key = api_key_create(account=tenant_a.account, friendly_name="k", actor="test").key
    note = notification_record(account_id=tenant_a.account.id, error_code=11200, message="boom")
    call = Call.objects.create(
        account=tenant_a.account,
        direction="inbound",
        from_number="+15557654321",
        to_number="+15017122661",
        status="completed",
    )
    recording = recording_store(
        account_id=tenant_a.account.id,
        call_id=call.id,
        audio=b"RIFF....WAVE",
        duration_seconds=1,
        source="RecordVerb",
    )
    return {
        "account": tenant_a.sid,
        "number": number.sid,
        "key": key.sid,
        "notification": note.sid,
        "call": call.sid,
        "recording": recording.sid,
    }


def _paths(a: dict[str, str], path_account: str) -> list[str]:
    base = f"/2010-04-01/Accounts/{path_account}"
    return [
        f"{base}/IncomingPhoneNumbers/{a['number']}.json",
        f"{base}/Keys/{a['key']}.json",
        f"{base}/Notifications/{a['notification']}.json",
        f"{base}/Calls/{a['call']}.json",
        f"{base}/Recordings/{a['recording']}.json",
        f"{base}/Recordings/{a['recording']}",
    ]


def _methods(path: str) -> tuple[str, ...]:
    """The methods each resource supports (others would be 405 whoever asks)."""
    if path.endswith("s.json"):
        return ("get",) if "/Notifications" in path or "/Recordings" in path else ("get", "post")
    if "/Recordings/" in path and not path.endswith(".json"):
        return ("get",)  # the audio itself
    if "/Notifications/" in path or "/Recordings/" in path:
        return ("get", "delete")
    if "/Calls/" in path:
        return ("get", "post")
    return ("get", "post", "delete")


def test_other_tenants_sids_are_not_found_on_every_resource(
    a_sids: dict[str, str], api_b: TwilioClient
) -> None:
    paths = [
        f"/2010-04-01/Accounts/{a_sids['account']}.json",
        f"/2010-04-01/Accounts/{a_sids['account']}/IncomingPhoneNumbers.json",
        f"/2010-04-01/Accounts/{a_sids['account']}/Keys.json",
        f"/2010-04-01/Accounts/{a_sids['account']}/Notifications.json",
        f"/2010-04-01/Accounts/{a_sids['account']}/Calls.json",
        f"/2010-04-01/Accounts/{a_sids['account']}/Recordings.json",
        *_paths(a_sids, a_sids["account"]),  # A's account in the path
        *_paths(a_sids, api_b.tenant.sid),  # B's own account in the path, A's resource SIDs
    ]
    for path in paths:
        methods = _methods(path)
        for method in methods:
            response = getattr(api_b, method)(path)
            assert response.status_code == 404, (method, path, response.content)
            assert response.json()["code"] == 20404
    assert (
        api_b.post(f"/2010-04-01/Accounts/{a_sids['account']}.json", {"Status": "closed"}).status_code == 404
    )


def test_resources_stay_intact_after_the_attempts(
    a_sids: dict[str, str], api_a: TwilioClient, api_b: TwilioClient
) -> None:
    for path in _paths(a_sids, api_b.tenant.sid):
        api_b.delete(path)
    for path in _paths(a_sids, a_sids["account"]):
        assert api_a.get(path).status_code == 200, path


def test_parent_credentials_act_on_a_subaccount(tenant_a: Tenant) -> None:
    sub = make_subaccount(tenant_a, "Branch")
    parent = TwilioClient(tenant_a)
    created = parent.post(parent.url("IncomingPhoneNumbers.json", sub.sid), {"PhoneNumber": "+15017122661"})
    assert created.status_code == 201
    assert created.json()["account_sid"] == sub.sid
    listed = parent.get(parent.url("IncomingPhoneNumbers.json", sub.sid)).json()["incoming_phone_numbers"]
    assert [n["sid"] for n in listed] == [created.json()["sid"]]
    # The parent's own list does not include the subaccount's number.
    assert parent.get(parent.url("IncomingPhoneNumbers.json")).json()["incoming_phone_numbers"] == []


def test_subaccount_credentials_never_reach_the_parent(tenant_a: Tenant) -> None:
    sub = TwilioClient(make_subaccount(tenant_a, "Branch"))
    assert sub.get(f"/2010-04-01/Accounts/{tenant_a.sid}.json").status_code == 404
    assert sub.get(sub.url("IncomingPhoneNumbers.json", tenant_a.sid)).status_code == 404
    listed = sub.get("/2010-04-01/Accounts.json").json()["accounts"]
    assert [a["sid"] for a in listed] == [sub.tenant.sid]


def test_a_subaccount_of_another_tenant_is_not_reachable(tenant_a: Tenant, api_b: TwilioClient) -> None:
    sub = make_subaccount(tenant_a, "Branch")
    assert api_b.get(f"/2010-04-01/Accounts/{sub.sid}.json").status_code == 404
    assert api_b.get(api_b.url("IncomingPhoneNumbers.json", sub.sid)).status_code == 404
