"""Every list endpoint, whatever its filters and paging are given, answers with a page or Twilio's
error body, never a 500 (issue 9).

The endpoints come from the published OpenAPI schema (each GET whose operation is named list… or
search…), and each one's query parameters from what its view reads: a request records every name
looked up in its query string, and requests giving each name found a value find the names read only
after it (the search's paging, read once `q` is there). A new endpoint or filter is covered without
touching this file; a new kind of path parameter needs an object in `sids`.
"""

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote_from_bytes

import pytest
from django.http import QueryDict
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ai.services import agent_create
from contactcenter.members import queue_member_enqueue
from contactcenter.taskrouter.models import Workflow
from contactcenter.taskrouter.task_lifecycle import task_create
from contactcenter.taskrouter.workers import worker_create
from contactcenter.taskrouter.workspaces import workspace_create
from conversations.models import Conversation
from messaging.bulk.services import bulk_create
from messaging.models import Bulk
from tests.conftest import Tenant
from tests.conversations.factories import inbound_call, number, text_in

SENDER = "+15017122661"
CALLER = "+14155550123"
ERROR_KEYS = {"code", "message", "more_info", "status"}
LOOKUPS = ("get", "getlist", "__getitem__", "__contains__")  # how a view reads request.query_params


def list_endpoints() -> list[tuple[str, str]]:
    """(operation id, path template) of every list endpoint in the published schema."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (operation["operationId"], path)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if method == "get" and operation["operationId"].startswith(("list", "search"))
    )


@pytest.fixture
def sids(tenant_a: Tenant) -> dict[str, str]:
    """The SID for a path parameter, by the collection it follows: tenant A's objects to list under."""
    number(tenant_a, SENDER)
    call = inbound_call(CALLER, SENDER)
    message = text_in(CALLER, SENDER, "Is the clinic open on Saturday?")
    bulk = bulk_create(
        account=tenant_a.account,
        from_=SENDER,
        body="Closed today",
        recipients=[CALLER],
        message_class=Bulk.MessageClass.SCHOOL_MISSION,
        actor="test",
    )
    conversation = Conversation.objects.get(items__message=message)
    workspace = workspace_create(
        account=tenant_a.account, actor="test", friendly_name="Walk", template="FIFO"
    )
    worker = worker_create(workspace=workspace, friendly_name="Ann", attributes="{}", activity_sid=None)
    workflow = Workflow.objects.get(workspace=workspace)
    task = task_create(
        workspace=workspace,
        workflow_sid=workflow.sid,
        attributes="{}",
        priority=None,
        timeout=None,
        task_channel=None,
    )
    entered = queue_member_enqueue(account_id=tenant_a.account.id, call_id=call.id, queue_name="front-desk")
    assert entered is not None
    agent = agent_create(account=tenant_a.account, actor="test", friendly_name="Desk assistant")
    return {
        "Accounts": tenant_a.sid,
        "Calls": call.sid,
        "Messages": message.sid,
        "conversations": conversation.sid,
        "bulks": bulk.sid,
        "Workspaces": workspace.sid,
        "Workers": worker.sid,
        "Tasks": task.sid,
        "Queues": entered.queue_sid,
        "Agents": agent.sid,
    }


def resolve(template: str, sids: dict[str, str]) -> str:
    parts = template.split("/")
    for index, part in enumerate(parts):
        if "{" in part:
            owner = parts[index - 1]
            assert owner in sids, f"{template}: give this test an object for {part} (under {owner})"
            parts[index] = sids[owner] + part[part.index("}") + 1 :]
    return "/".join(parts)


def names_read(get: Callable[[dict[str, str]], Any], params: dict[str, str]) -> set[str]:
    """The query parameters a request with `params` looks up."""
    read: set[str] = set()

    def spy(lookup: Callable[..., Any]) -> Callable[..., Any]:
        def spied(self: QueryDict, key: str, *args: Any) -> Any:
            read.add(key)
            return lookup(self, key, *args)

        return spied

    with pytest.MonkeyPatch.context() as patch:
        for name in LOOKUPS:
            patch.setattr(QueryDict, name, spy(getattr(QueryDict, name)))
        get(params)
    return read


def parameters(get: Callable[[dict[str, str]], Any]) -> list[str]:
    names = names_read(get, {})
    pending = set(names)
    while pending:
        found = names_read(get, {pending.pop(): "1"}) - names
        names |= found
        pending |= found
    return sorted(names)


def query(params: dict[str, str | bytes]) -> str:
    """Percent-encoded as given: bytes as they are (invalid UTF-8 too), text with its surrogates."""

    def encoded(value: str | bytes) -> str:
        raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
        return quote_from_bytes(raw, safe="")

    return "&".join(f"{encoded(name)}={encoded(value)}" for name, value in params.items())


def token(parts: list[str], prefix: str) -> str:
    raw = "|".join(parts).encode("utf-8", "surrogatepass")
    return prefix + base64.urlsafe_b64encode(raw).decode().rstrip("=")


TIMES = st.builds(
    lambda moment, offset: moment.isoformat() + offset,
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
    st.sampled_from(["", "Z", "+00:00", "+14:00", "-23:59"]),
)
IDS = st.uuids().map(lambda value: value.hex) | st.text(max_size=4)
TOKENS = st.builds(
    lambda direction, moment, pk, prefix: token([*direction, moment, pk], prefix),
    st.sampled_from([["after"], ["before"], []]),
    TIMES,
    IDS,
    st.sampled_from(["PT", ""]),  # Twilio's PageToken, the native API's cursor
)
VALUES = st.one_of(
    st.text(max_size=30),  # any code point: NUL, controls, other scripts' digits
    st.text(st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=4),  # ², ٣, Ⅻ
    st.sampled_from(["", "0", "1", "-1", " 1", "1000", "1001", "1" * 5000, "\x00", "\ud800", "a\udfffb"]),
    st.builds(lambda char, count: char * count, st.characters(), st.integers(1000, 9000)),
    st.binary(max_size=12),  # invalid UTF-8, encoded surrogates
    TIMES,
    TOKENS,
)
ENDPOINTS = list_endpoints()


@dataclass(frozen=True)
class Endpoint:
    url: str
    names: list[str]  # the query parameters its view reads
    get: Callable[[str], Any]  # the response to this query string


@pytest.fixture(params=ENDPOINTS, ids=[operation for operation, _ in ENDPOINTS])
def endpoint(request: pytest.FixtureRequest, tenant_a: Tenant, sids: dict[str, str]) -> Endpoint:
    """Set up once for all of a test's examples: the walk stays within seconds."""
    client = Client()
    url = resolve(request.param[1], sids)
    names = parameters(lambda params: client.get(url, params, **tenant_a.auth()))
    return Endpoint(url, names, lambda query: client.get(f"{url}?{query}", **tenant_a.auth()))


@pytest.mark.filterwarnings("error::RuntimeWarning")  # such as Django's for a naive datetime in a filter
@settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_filter_or_paging_value_gets_a_page_or_a_twilio_error(
    endpoint: Endpoint, data: st.DataObject
) -> None:
    params = data.draw(
        st.dictionaries(st.sampled_from(endpoint.names) | st.text(max_size=5), VALUES, max_size=4)
    )

    response = endpoint.get(query(params))

    body = response.json()
    if response.status_code == 200:
        assert any(isinstance(value, list) for value in body.values()), body
    else:
        assert 400 <= response.status_code < 500, body
        assert (set(body), body["status"]) == (ERROR_KEYS, response.status_code), body


def test_the_walk_finds_each_views_filters_and_paging(endpoint: Endpoint) -> None:
    """What the walk above gives values to, on a few endpoints whose filters are known."""
    expected = {
        "/2010-04-01/Accounts.json": {"FriendlyName", "Status", "PageSize", "Page", "PageToken"},
        "/Calls.json": {"To", "From", "Status", "ParentCallSid", "StartTime<", "EndTime>", "PageSize"},
        "/Messages.json": {"To", "From", "DateSent", "DateSent>", "PageToken"},
        "/api/v1/search": {"q", "cursor", "page_size"},
        "/recipients": {"status", "cursor", "page_size"},
    }
    for suffix, names in expected.items():
        if endpoint.url.endswith(suffix):
            assert names <= set(endpoint.names)
    assert endpoint.names, "every list reads its paging parameters at least"


def test_every_list_of_the_api_is_walked() -> None:
    assert len(ENDPOINTS) >= 14
    assert {"listAccounts", "listMessages", "searchConversations", "listBulkRecipients"} <= {
        operation for operation, _ in ENDPOINTS
    }
