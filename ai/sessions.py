"""Starting a session: who is calling which agent, proved before anything of the agent is read.

The relay signs its websocket upgrade as Twilio does (`X-Twilio-Signature`: HMAC-SHA1 over the URL it
opened, with the account's auth token). The account is named only by `setup`'s `accountSid`; the
signature proves it, and only then is the agent (from the URL) and the call (`callSid`) read, under
that account's RLS scope. Nothing a caller says can change which tenant a session acts for.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ai.brains.base import Brain, ToolSpec
from ai.brains.guard import Guarded
from ai.brains.openai_chat import OpenAIChatBrain
from ai.brains.openai_realtime_text import OpenAIRealtimeTextBrain
from ai.brains.scripted import Faq, ScriptedBrain
from ai.models import Agent
from ai.redaction import redact
from ai.runtime import NO_PERSON_NOTE, AgentProfile, TurnRecord
from ai.speech_to_speech.base import Bridge, RealtimeAgent
from ai.speech_to_speech.deepgram_agent import DeepgramAgentBridge
from ai.speech_to_speech.gemini_live import GeminiLiveBridge
from ai.speech_to_speech.openai_realtime import RealtimeBridge, realtime_url
from ai.tools import CallContext, tool_specs
from ai.webhook_tools import WebhookTool
from conversations.services import agent_turn_log
from core import webhooks
from core.sids import row_by_sid, sid_to_uuid
from core.tenancy import tenant_scope
from tenants.models import Account
from voice.models import Call

BRIDGES: dict[str, type[Bridge]] = {  # a speech-to-speech brain's protocol
    Agent.Brain.OPENAI_REALTIME: RealtimeBridge,
    Agent.Brain.DEEPGRAM_AGENT: DeepgramAgentBridge,
    Agent.Brain.GEMINI_LIVE: GeminiLiveBridge,
}


@dataclass(frozen=True)
class RealtimeProvider:
    """A speech-to-speech agent's model: its websocket URL, the upgrade's headers (the tenant's key),
    the session it asks for and the bridge that speaks its protocol."""

    url: str
    headers: dict[str, str]
    agent: RealtimeAgent
    bridge: type[Bridge]


@dataclass(frozen=True)
class SessionStart:
    profile: AgentProfile
    brain: Brain
    tool_specs: tuple[ToolSpec, ...]
    context: CallContext
    redact: Callable[[str], str]
    realtime: RealtimeProvider | None = None  # set for a speech-to-speech agent


def session_turn_log(start: SessionStart, turn: TurnRecord) -> None:
    """One exchange of the session in its call's conversation."""
    agent_turn_log(
        account_id=start.context.account_id,
        call_id=start.context.call_id,
        agent_sid=start.profile.agent_sid,
        caller_text=turn.caller_text,
        agent_text=turn.agent_text,
        tool_calls=turn.tool_calls,
        timings=turn.timings,
    )


def _webhook_tools(agent: Agent) -> tuple[WebhookTool, ...]:
    return tuple(WebhookTool(**spec) for spec in agent.webhook_tools)


def agent_profile(agent: Agent) -> AgentProfile:
    """The session's view of `agent`. Without a hand-off route the model is neither offered the
    transfer tool nor left to believe a person is there (its instructions say so)."""
    can_hand_off = agent.has_handoff_route
    instructions = agent.instructions if can_hand_off else f"{agent.instructions}\n\n{NO_PERSON_NOTE}".strip()
    return AgentProfile(
        account_id=agent.account_id,
        agent_sid=agent.sid,
        instructions=instructions,
        tools=tuple(name for name in agent.tools if can_hand_off or name != "transfer_to_human"),
        webhook_tools=tuple(tool.spec for tool in _webhook_tools(agent)),
        handoff_queue=agent.handoff_queue,
        can_hand_off=can_hand_off,
        max_turns_without_progress=agent.max_turns_without_progress,
        max_tool_rounds=agent.max_tool_rounds,
        greeting=agent.welcome_greeting,
    )


def agent_redactor(agent: Agent) -> Callable[[str], str]:
    """What the caller's words go through before they are stored or sent to a brain."""
    return redact if agent.is_redacting else (lambda text: text)


def agent_brain(agent: Agent) -> Brain:
    """The agent's brain: its OpenAI-compatible model (or its Realtime model, answering in text) behind
    the guard (a filler phrase when slow, a BrainError the runtime hands off on), or the scripted brain
    and its FAQ entries."""
    if agent.brain == Agent.Brain.OPENAI:
        chat = OpenAIChatBrain(base_url=agent.llm_endpoint, api_key=agent.llm_api_key, model=agent.llm_model)
        return Guarded(chat)
    if agent.brain == Agent.Brain.OPENAI_REALTIME:  # typed to in the test console: its model, in text
        url = realtime_url(agent.llm_endpoint, agent.llm_model)
        return Guarded(OpenAIRealtimeTextBrain(url=url, api_key=agent.llm_api_key, model=agent.llm_model))
    return ScriptedBrain(
        [Faq(phrases=tuple(e.phrases), answer=e.answer) for e in agent.faq_entries.order_by("date_created")]
    )


def agent_realtime(
    agent: Agent, profile: AgentProfile, specs: tuple[ToolSpec, ...]
) -> RealtimeProvider | None:
    """The agent's speech-to-speech model, when that is its brain."""
    if not agent.is_speech_to_speech:
        return None
    session = RealtimeAgent(
        instructions=profile.instructions,
        model=agent.llm_model,
        voice=agent.voice,
        tools=specs,
        language=agent.language,
    )
    bridge = BRIDGES[agent.brain]
    return RealtimeProvider(
        url=bridge.url(agent.llm_endpoint, agent.llm_model),
        headers=bridge.headers(agent.llm_api_key),
        agent=session,
        bridge=bridge,
    )


def _is_signed(account: Account, urls: list[str], received: str) -> bool:
    tokens = [token for token in (account.auth_token, account.secondary_auth_token) if token]
    return any(webhooks.is_valid_signature(url, {}, token, received) for url in urls for token in tokens)


def session_start(
    *, agent_sid: str, setup: dict[str, Any], urls: list[str], signature: str
) -> SessionStart | None:
    """The session `setup` opens on the agent at `agent_sid`, or None when the signature does not
    prove `accountSid` over one of `urls`, or the agent or the call is not that account's."""
    account_id = sid_to_uuid(str(setup.get("accountSid", "")), Account.SID_PREFIX)
    if account_id is None or not signature:
        return None
    with tenant_scope(account_id):
        account = Account.objects.filter(id=account_id).first()
        if account is None or not account.is_active or not _is_signed(account, urls, signature):
            return None
        agent = row_by_sid(Agent.objects.for_account(account), agent_sid)
        call = row_by_sid(Call.objects.for_account(account), str(setup.get("callSid", "")))
        if agent is None or call is None:
            return None
        inbound = call.direction == Call.Direction.INBOUND
        caller, ours = (call.from_number, call.to_number) if inbound else (call.to_number, call.from_number)
        profile = agent_profile(agent)
        specs = tuple(tool_specs(builtin=profile.tools, webhook=profile.webhook_tools))
        return SessionStart(
            profile=profile,
            brain=agent_brain(agent),
            tool_specs=specs,
            context=CallContext(
                account_id=account_id,
                call_id=call.id,
                caller=caller,
                ours=ours,
                account_sid=account.sid,
                call_sid=call.sid,
                auth_token=account.auth_token,
                webhook_tools=_webhook_tools(agent),
            ),
            redact=agent_redactor(agent),
            realtime=agent_realtime(agent, profile, specs),
        )
