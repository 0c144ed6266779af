"""The agents' API (`/ai/v1/Agents`, FAQ entries), the TwiML an agent's number fetches and its
hand-off, and the portal's agent page with its test console, through Django's test client."""

import json

import pytest
from django.test import Client

from ai.handoff import agent_hints
from ai.models import Agent, FaqEntry
from ai.services import agent_create, faq_entry_create
from ai.sessions import agent_profile, agent_realtime
from ai.speech_to_speech.base import Bridge
from ai.speech_to_speech.deepgram_agent import DeepgramAgentBridge
from ai.speech_to_speech.gemini_live import GeminiLiveBridge
from ai.stream_outcomes import StreamOutcome, stream_outcome_put, stream_outcome_take
from compliance.models import AuditEntry
from contactcenter.taskrouter.models import Workflow
from core import webhooks
from core.tenancy import tenant_activate
from numbering.services import number_update
from streams.services import stream_url_check
from tenants.models import Role
from tenants.services import membership_add, user_create
from tests.conftest import Tenant, TwilioClient
from tests.contactcenter.taskrouter.factories import make_workspace
from tests.conversations.factories import number
from twiml import verbs
from twiml.parser import parse_voice

AGENTS = "/ai/v1/Agents"


def _create(api: TwilioClient, **fields: object) -> dict[str, object]:
    response = api.post(AGENTS, {"FriendlyName": "Front desk assistant", **fields})
    assert response.status_code == 201, response.content
    return response.json()


def _workflow(tenant: Tenant) -> Workflow:
    return make_workspace(tenant.account).workflow({"default_filter": {"queue": "WQ" + "0" * 32}})


def test_create_fetch_update_and_faq_entries_are_audited(api_a: TwilioClient, tenant_a: Tenant) -> None:
    workflow = _workflow(tenant_a)
    agent = _create(
        api_a,
        Tools=json.dumps(["transfer_to_human", "send_text"]),
        HandoffWorkflowSid=workflow.sid,
        LlmApiKey="sk-secret",
        WelcomeGreeting="Hello, how can I help?",
        TtsProvider="espeak",
        TranscriptionProvider="pocketsphinx",
    )
    assert agent["tools"] == ["transfer_to_human", "send_text"] and agent["has_llm_api_key"] is True
    assert "sk-secret" not in json.dumps(agent) and agent["brain"] == "scripted"
    assert api_a.get(f"{AGENTS}/{agent['sid']}").json()["welcome_greeting"] == "Hello, how can I help?"
    updated = api_a.post(f"{AGENTS}/{agent['sid']}", {"MaxTurnsWithoutProgress": "2"}).json()
    assert updated["max_turns_without_progress"] == 2 and updated["has_llm_api_key"] is True

    faq = api_a.post(
        f"{AGENTS}/{agent['sid']}/FaqEntries", {"Phrases": '["opening hours"]', "Answer": "Nine to five."}
    )
    assert faq.status_code == 201 and faq.json()["agent_sid"] == agent["sid"]
    assert (
        api_a.get(f"{AGENTS}/{agent['sid']}/FaqEntries").json()["faq_entries"][0]["answer"] == "Nine to five."
    )
    actions = set(AuditEntry.objects.filter(object_sid=agent["sid"]).values_list("action", flat=True))
    assert actions == {"agent.create", "agent.update", "agent.faq.create"}


@pytest.mark.parametrize(
    "fields",
    [
        {"Tools": '["launch_missiles"]'},
        {"Tools": "not json"},
        {"WebhookTools": '[{"name": "send_text", "url": "https://x.example"}]'},
        {"HandoffWorkflowSid": "WW" + "0" * 32},
        {"Brain": "oracle"},
        {"TtsProvider": "a-voice-nobody-has"},
        {"TranscriptionProvider": "ears"},
        {"Brain": "openai", "LlmModel": "gpt-4o-mini"},  # no endpoint
    ],
)
def test_bad_input_is_refused_with_20001_and_nothing_saved(
    api_a: TwilioClient, fields: dict[str, str]
) -> None:
    response = api_a.post(AGENTS, {"FriendlyName": "Bad", **fields})
    assert response.status_code == 400 and response.json()["code"] in (20001, 20422), response.content
    assert not Agent.objects.exists()


def test_agent_is_invisible_to_other_tenant(
    api_a: TwilioClient, api_b: TwilioClient, tenant_b: Tenant
) -> None:
    agent = _create(api_a)
    assert api_b.get(f"{AGENTS}/{agent['sid']}").status_code == 404
    assert api_b.get(f"{AGENTS}/{agent['sid']}/FaqEntries").status_code == 404
    assert api_b.get(AGENTS).json()["agents"] == []
    # The hotel's own workflow cannot be another's agent's hand-off either.
    hotel_flow = _workflow(tenant_b)
    tenant_activate(api_a.tenant.account.id)
    assert api_a.post(f"{AGENTS}/{agent['sid']}", {"HandoffWorkflowSid": hotel_flow.sid}).status_code == 400


def _signed_post(tenant: Tenant, path: str, params: dict[str, str], token: str | None = None) -> bytes:
    url = f"http://testserver{path}"
    signature = webhooks.signature(url, params, token or tenant.token)
    response = Client().post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)
    return response.content if response.status_code == 200 else str(response.status_code).encode()


def test_the_number_connects_to_the_agent_and_the_handoff_enqueues_with_the_summary(
    api_a: TwilioClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    workflow = _workflow(tenant_a)
    agent = _create(api_a, HandoffWorkflowSid=workflow.sid, HandoffQueue="Front desk", WelcomeGreeting="Hi!")
    call = {"AccountSid": tenant_a.sid, "CallSid": "CA" + "1" * 32}
    twiml = _signed_post(tenant_a, f"/agents/{agent['sid']}/twiml", call).decode()
    assert (
        f'<Connect action="http://127.0.0.1:8000/agents/{agent["sid"]}/handoff">' in twiml
        or "<Connect" in twiml
    )
    assert f"/ws/agents/{agent['sid']}" in twiml and 'welcomeGreeting="Hi!"' in twiml
    (connect,) = parse_voice(twiml).response.verbs  # what the voice worker will run, as it parses it
    assert isinstance(connect, verbs.Connect) and connect.action and connect.action.endswith("/handoff")
    (relay,) = connect.children
    assert (
        isinstance(relay, verbs.ConversationRelay)
        and relay.dtmf_detection
        and relay.welcome_greeting == "Hi!"
    )

    handoff = {"reasonCode": "live-agent-handoff", "summary": "Wants to move Tuesday's visit", "transcript": [
        {"role": "caller", "text": "I want to talk to a person"}]}  # fmt: skip
    document = _signed_post(
        tenant_a, f"/agents/{agent['sid']}/handoff", {**call, "HandoffData": json.dumps(handoff)}
    ).decode()
    assert f'workflowSid="{workflow.sid}"' in document and "Front desk" in document
    task = json.loads(document.split("<Task>")[1].split("</Task>")[0].replace("&quot;", '"'))
    assert task["summary"] == "Wants to move Tuesday's visit" and task["transcript"][0]["role"] == "caller"

    ended = _signed_post(
        tenant_a, f"/agents/{agent['sid']}/handoff", {**call, "HandoffData": '{"reasonCode": "end-call"}'}
    )
    assert b"<Hangup" in ended and b"Enqueue" not in ended
    failed = {**call, "SessionStatus": "failed", "ErrorMessage": "the relay is down"}
    rescued = _signed_post(tenant_a, f"/agents/{agent['sid']}/handoff", failed).decode()
    assert (
        "not available" in rescued
        and f'workflowSid="{workflow.sid}"' in rescued
        and "the relay is down" in rescued
    )
    api_a.post(f"{AGENTS}/{agent['sid']}", {"HandoffWorkflowSid": ""})
    plain = _signed_post(
        tenant_a, f"/agents/{agent['sid']}/handoff", {**call, "HandoffData": json.dumps(handoff)}
    )
    assert b"<Enqueue>Front desk</Enqueue>" in plain and b"workflowSid" not in plain
    # Unsigned, or signed by another tenant for this one's account: refused.
    assert _signed_post(tenant_a, f"/agents/{agent['sid']}/twiml", call, token="wrong") == b"403"
    assert _signed_post(tenant_a, f"/agents/{agent['sid']}/twiml", call, token=tenant_b.token) == b"403"


def test_the_portal_creates_an_agent_and_its_console_talks_to_it(tenant_a: Tenant) -> None:
    desk_number = number(tenant_a, "+12025550184")
    user = user_create(email="dev@clinic.example", password="pw-123456789")
    membership_add(account=tenant_a.account, user=user, role=Role.DEVELOPER, actor="test")
    client = Client()
    assert (
        client.post("/login/", {"email": "dev@clinic.example", "password": "pw-123456789"}).status_code == 302
    )
    created = client.post(
        "/agents/",
        {"friendly_name": "Desk", "language": "en-US", "brain": "scripted",
         "tools": ["send_text", "transfer_to_human"], "handoff_queue": "Front desk",
         "max_turns_without_progress": "3"},
    )  # fmt: skip
    assert created.status_code == 302, created.content
    page = created["Location"]
    client.post(page, {"action": "faq", "phrases": "address\nwhere are you", "answer": "1 Example Street."})
    client.post(page, {"action": "say", "text": "Where are you?"})
    shown = client.post(page, {"action": "say", "text": "Please text me the address"}).content.decode()
    assert "1 Example Street." in shown and "send_text" in shown and "no text sent" in shown
    handed = client.post(page, {"action": "say", "text": "I want to talk to a person"}).content.decode()
    assert "live-agent-handoff" in handed
    after = client.post(page, {"action": "say", "text": "Hello again?"}).content.decode()
    assert "has ended" in after and "Hello again?" not in after  # the session ended, as the call would
    client.post(page, {"action": "restart"})
    assert "Hello again?" in client.post(page, {"action": "say", "text": "Hello again?"}).content.decode()
    assert AuditEntry.objects.filter(action="agent.faq.create").exists()

    settings = {"action": "save", "friendly_name": "Desk", "language": "en-US", "brain": "scripted",
                "max_turns_without_progress": "3"}  # fmt: skip
    on_model = client.post(page, settings | {"brain": "openai"}).content.decode()
    assert on_model.count("Required for a model.") == 2  # the endpoint and the model, in the form's words
    refused = client.post(
        page, settings | {"webhook_tools": '[{"name": "book", "url": "ftp://x"}]'}
    ).content.decode()
    assert "WebhookTools[0]" in refused and not Agent.objects.filter(webhook_tools__len__gt=0).exists()
    tool = {"name": "book", "description": "Book a visit.", "url": "https://clinic.example/book"}
    assert client.post(page, settings | {"webhook_tools": json.dumps([tool])}).status_code == 302
    (saved,) = Agent.objects.get(friendly_name="Desk").webhook_tools
    assert saved["name"] == "book" and saved["url"] == "https://clinic.example/book"

    client.post(page, {"action": "assign", "number": desk_number.sid})
    desk_number.refresh_from_db()
    assert desk_number.voice_url.endswith(f"{page}twiml") and desk_number.voice_method == "POST"

    # The greeting opens the test console, as it opens a call.
    assert client.post(page, settings | {"welcome_greeting": "Hello, Desk here."}).status_code == 302
    assert '<span class="muted">Agent:</span> Hello, Desk here.' in client.get(page).content.decode()


def test_an_agent_a_number_answers_with_is_not_deleted_until_the_number_points_elsewhere(
    api_a: TwilioClient, tenant_a: Tenant
) -> None:
    """Portal and API alike: deleting asks first, names the number that still sends its calls to the
    agent and refuses (its callers would meet a missing agent), then deletes, audited."""
    desk = number(tenant_a, "+12025550185")
    agent = agent_create(account=tenant_a.account, actor="test", friendly_name="Desk")
    faq_entry_create(agent=agent, actor="test", phrases=["hours"], answer="Nine to five.")
    client = Client()
    user = user_create(email="admin@clinic.example", password="pw-123456789")
    membership_add(account=tenant_a.account, user=user, role=Role.DEVELOPER, actor="test")
    client.post("/login/", {"email": "admin@clinic.example", "password": "pw-123456789"})
    page = f"/agents/{agent.sid}/"
    assert f"/agents/{agent.sid}/delete/" in client.get(page).content.decode()
    client.post(page, {"action": "assign", "number": desk.sid})

    asked = client.get(f"{page}delete/").content.decode()
    assert "+12025550185 still answers with this agent" in asked and 'name="confirm"' not in asked
    forced = client.post(f"{page}delete/", {"confirm": agent.sid})
    assert forced.status_code == 200 and Agent.objects.filter(id=agent.id).exists()
    refused = api_a.delete(f"{AGENTS}/{agent.sid}")
    assert refused.status_code == 400 and refused.json()["code"] == 20001
    assert "+12025550185 answers with it" in refused.json()["message"]

    tenant_activate(tenant_a.account.id)
    number_update(number=desk, actor="test", voice_url="https://clinic.example/voice")
    asked = client.get(f"{page}delete/").content.decode()
    assert "Delete Desk?" in asked and 'name="confirm"' in asked and "FAQ entries are deleted" in asked
    assert client.post(f"{page}delete/").status_code == 200  # no confirmation: the question again
    assert Agent.objects.filter(id=agent.id).exists()
    assert client.post(f"{page}delete/", {"confirm": agent.sid})["Location"] == "/agents/"
    assert not Agent.objects.filter(id=agent.id).exists() and not FaqEntry.objects.exists()
    assert AuditEntry.objects.filter(action="agent.delete", object_sid=agent.sid).count() == 1


def test_an_agent_turn_shows_in_the_callers_thread(tenant_a: Tenant) -> None:
    from conversations.models import Conversation
    from conversations.services import agent_turn_log
    from tests.conversations.factories import inbound_call

    number(tenant_a, "+12025550182")
    call = inbound_call("+14155550182", "+12025550182")
    agent_turn_log(
        account_id=tenant_a.account.id,
        call_id=call.id,
        agent_sid="AI" + "0" * 32,
        caller_text="Where are you?",
        agent_text="1 Example Street.",
        tool_calls=[{"name": "send_text", "arguments": {}, "result": '{"say": "sent"}'}],
        timings={"reply_ms": 12},
    )
    conversation = Conversation.objects.get(account=tenant_a.account)
    user = user_create(email="sup@clinic.example", password="pw-123456789")
    membership_add(account=tenant_a.account, user=user, role=Role.SUPERVISOR, actor="test")
    client = Client()
    assert (
        client.post("/login/", {"email": "sup@clinic.example", "password": "pw-123456789"}).status_code == 302
    )
    page = client.get(f"/inbox/{conversation.sid}/").content.decode()
    assert "Where are you?" in page and "1 Example Street." in page and "Tool send_text" in page
    assert "1 Example Street." in client.get("/inbox/").content.decode()  # the thread's preview


def test_the_agents_list_is_one_query_however_many(api_a: TwilioClient) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            api_a.get(AGENTS)
        return len(captured)

    _create(api_a, FriendlyName="Agent 0")
    one = queries()
    for n in range(1, 4):
        _create(api_a, FriendlyName=f"Agent {n}")
    assert queries() == one


def test_a_speech_to_speech_agent_takes_its_calls_over_media_streams(
    api_a: TwilioClient, tenant_a: Tenant, tenant_b: Tenant
) -> None:
    """An "openai-realtime" agent needs its model and endpoint like "openai"; its number's TwiML is a
    `<Connect><Stream>` to the agent's own Media Streams socket, which the destination policy admits,
    and its action reads the outcome the session left (none at all: the caller is told, handed over)."""
    refused = api_a.post(AGENTS, {"FriendlyName": "Voice desk", "Brain": "openai-realtime"})
    assert (
        refused.status_code == 400 and "Brain openai-realtime needs LlmEndpoint" in refused.json()["message"]
    )
    agent = _create(
        api_a,
        Brain="openai-realtime",
        LlmEndpoint="https://api.openai.com/v1",
        LlmModel="gpt-realtime",
        HandoffQueue="Front desk",
    )
    call = {"AccountSid": tenant_a.sid, "CallSid": "CA" + "3" * 32}
    twiml = _signed_post(tenant_a, f"/agents/{agent['sid']}/twiml", call).decode()
    (connect,) = parse_voice(twiml).response.verbs
    assert isinstance(connect, verbs.Connect) and connect.action and connect.action.endswith("/handoff")
    (stream,) = connect.children
    assert (
        isinstance(stream, verbs.Stream)
        and stream.url == f"ws://127.0.0.1:8000/ws/agents/{agent['sid']}/stream"
    )
    stream_url_check(stream.url)  # the platform's own socket passes the destination policy

    handoff = {"reasonCode": "live-agent-handoff", "queue": "Front desk", "summary": "Wants a person"}
    stream_outcome_put(
        tenant_a.sid,
        call["CallSid"],
        {"status": "completed", "handoff_data": json.dumps(handoff), "error": ""},
    )
    document = _signed_post(tenant_a, f"/agents/{agent['sid']}/handoff", call).decode()
    assert "<Enqueue>Front desk</Enqueue>" in document and "not available" not in document
    lost = _signed_post(tenant_a, f"/agents/{agent['sid']}/handoff", call).decode()  # taken once
    assert "not available" in lost and "<Enqueue>Front desk</Enqueue>" in lost
    error = "the model's connection ended"
    failed = StreamOutcome(status="failed", handoff_data=json.dumps(handoff), error=error)
    stream_outcome_put(tenant_a.sid, call["CallSid"], failed)  # the model failed mid-call: told, then queued
    rescued = _signed_post(tenant_a, f"/agents/{agent['sid']}/handoff", call).decode()
    assert "not available" in rescued and "<Enqueue>Front desk</Enqueue>" in rescued
    stream_outcome_put(tenant_a.sid, call["CallSid"], failed)  # another account's action cannot take it
    other = _signed_post(tenant_b, f"/agents/{agent['sid']}/handoff", {**call, "AccountSid": tenant_b.sid})
    assert b"<Hangup" in other and b"Enqueue" not in other
    assert stream_outcome_take(tenant_a.sid, call["CallSid"]) == failed


@pytest.mark.parametrize(
    ("brain", "endpoint", "model", "url", "key_header", "bridge"),
    [
        (
            "deepgram-agent",
            "https://agent.deepgram.com/v1/agent/converse",
            "gpt-4o-mini",
            "wss://agent.deepgram.com/v1/agent/converse",
            ("Authorization", "Token tenant-key"),
            DeepgramAgentBridge,
        ),
        (
            "gemini-live",
            "https://generativelanguage.googleapis.com",
            "gemini-live-2.5-flash",
            "wss://generativelanguage.googleapis.com/ws/"
            "google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent",
            ("x-goog-api-key", "tenant-key"),
            GeminiLiveBridge,
        ),
    ],
)
def test_deepgram_and_gemini_agents_are_speech_to_speech_agents_with_their_own_protocol(
    api_a: TwilioClient,
    tenant_a: Tenant,
    brain: str,
    endpoint: str,
    model: str,
    url: str,
    key_header: tuple[str, str],
    bridge: type[Bridge],
) -> None:
    """Like "openai-realtime": model and endpoint required, the call met over Media Streams; the
    session speaks the provider's protocol at its URL, with the tenant's key as the provider takes it."""
    refused = api_a.post(AGENTS, {"FriendlyName": "Voice desk", "Brain": brain})
    assert refused.status_code == 400 and f"Brain {brain} needs LlmEndpoint" in refused.json()["message"]
    created = _create(api_a, Brain=brain, LlmEndpoint=endpoint, LlmModel=model, LlmApiKey="tenant-key")
    assert created["brain"] == brain and created["has_llm_api_key"] is True
    call = {"AccountSid": tenant_a.sid, "CallSid": "CA" + "4" * 32}
    (connect,) = parse_voice(
        _signed_post(tenant_a, f"/agents/{created['sid']}/twiml", call).decode()
    ).response.verbs
    assert isinstance(connect, verbs.Connect) and isinstance(connect.children[0], verbs.Stream)
    tenant_activate(tenant_a.account.id)
    agent = Agent.objects.get(account=tenant_a.account, friendly_name="Front desk assistant", brain=brain)
    provider = agent_realtime(agent, agent_profile(agent), ())
    assert provider is not None and provider.bridge is bridge
    assert provider.url == url and provider.headers == dict([key_header])
    assert provider.agent.model == model and provider.agent.language == "en-US"
    # the portal's console has no text mode to offer it: it says so and runs nothing
    user = user_create(email=f"{brain}@clinic.example", password="pw-123456789")
    membership_add(account=tenant_a.account, user=user, role=Role.DEVELOPER, actor="test")
    client = Client()
    client.post("/login/", {"email": f"{brain}@clinic.example", "password": "pw-123456789"})
    page = client.post(f"/agents/{agent.sid}/", {"action": "say", "text": "Hello?"}).content.decode()
    assert "takes speech only" in page and "Hello?" not in page


def test_an_agent_that_may_text_hints_text_me_the_faq_phrases(tenant_a: Tenant) -> None:
    """The offline recogniser takes each hint whole (ai/handoff.py): "text me" and "address" apart
    do not make "text me the address"."""
    tenant_activate(tenant_a.account.id)
    texting = agent_create(account=tenant_a.account, actor="test", friendly_name="Desk", tools=["send_text"])
    quiet = agent_create(account=tenant_a.account, actor="test", friendly_name="Line", tools=[])
    for agent in (texting, quiet):
        faq_entry_create(agent=agent, actor="test", phrases=["address", "opening hours"], answer="12 Main St")
    assert {"text me the address", "text me the opening hours", "address"} <= set(agent_hints(texting))
    quiet_hints = agent_hints(quiet)
    assert "address" in quiet_hints and not any(h.startswith("text me the") for h in quiet_hints)
