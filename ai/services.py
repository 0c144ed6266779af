"""Every write to a tenant's agents and FAQ entries, each in its transaction with its audit entry, and
what a session writes when it ends (the transcript's digest in the audit chain).

Invalid input is refused before anything is written, with Twilio's 20001 naming the parameter.
"""

from dataclasses import asdict
from typing import Any

from django.db import transaction
from django.db.models import Q

from ai.handoff import agent_twiml_url
from ai.models import BUILTIN_TOOLS, SPEECH_TO_SPEECH_BRAINS, Agent, FaqEntry
from ai.speech.registry import SPEECH_TO_TEXT, TEXT_TO_SPEECH
from ai.webhook_tools import webhook_tools_check
from compliance.services import audit_record
from contactcenter.taskrouter.models import Workflow
from core.error_codes import ErrorCode
from core.errors import TwilioError
from core.sids import row_by_sid
from core.tenancy import tenant_scope
from numbering.models import IncomingPhoneNumber
from numbering.services import number_update
from tenants.models import Account

AGENT_SETTINGS = (
    "friendly_name",
    "instructions",
    "welcome_greeting",
    "language",
    "voice",
    "tts_provider",
    "transcription_provider",
    "brain",
    "llm_model",
    "llm_endpoint",
    "tools",
    "webhook_tools",
    "handoff_workflow_sid",
    "handoff_queue",
    "max_turns_without_progress",
    "max_tool_rounds",
    "is_redacting",
)
MAX_FAQ_PHRASES = 20


def invalid(message: str) -> TwilioError:
    return TwilioError(ErrorCode.UNKNOWN_PARAMETERS, message, 400)


def _checked_tools(tools: Any) -> list[str]:
    if not isinstance(tools, list) or any(name not in BUILTIN_TOOLS for name in tools):
        raise invalid(f"Tools must be a list of: {', '.join(BUILTIN_TOOLS)}")
    return list(dict.fromkeys(tools))


def _checked_webhook_tools(specs: Any) -> list[dict[str, Any]]:
    """Part of the agent as stored: each spec checked by ai/webhook_tools (the field named on refusal)."""
    return [asdict(tool) for tool in webhook_tools_check(specs, reserved=BUILTIN_TOOLS)]


def _checked(account: Account, changes: dict[str, Any]) -> dict[str, Any]:
    checked = dict(changes)
    if "tools" in checked:
        checked["tools"] = _checked_tools(checked["tools"])
    if "webhook_tools" in checked:
        checked["webhook_tools"] = _checked_webhook_tools(checked["webhook_tools"])
    for name, engines, parameter in (
        ("tts_provider", TEXT_TO_SPEECH, "TtsProvider"),
        ("transcription_provider", SPEECH_TO_TEXT, "TranscriptionProvider"),
    ):
        if checked.get(name) and checked[name].lower() not in engines:
            raise invalid(f"{parameter} {checked[name]} is not one of: {', '.join(engines)}")
    workflow_sid = checked.get("handoff_workflow_sid")
    if workflow_sid and row_by_sid(Workflow.objects.for_account(account), workflow_sid) is None:
        raise invalid(f"HandoffWorkflowSid {workflow_sid} is not a Workflow of this account")
    return checked


def _audit(agent: Agent, *, actor: str, action: str, payload: dict[str, Any] | None = None) -> None:
    audit_record(
        account_id=agent.account_id,
        actor=actor,
        action=f"agent.{action}",
        object_sid=agent.sid,
        payload=payload,
    )


def _check_brain(settings: dict[str, Any], agent: Agent | None = None) -> None:
    """An agent on a model names where it is and which one (its key may be blank: a local endpoint);
    `settings` are what is being set, over `agent`'s current ones."""

    def value(name: str) -> Any:
        if name in settings:
            return settings[name]
        return getattr(agent if agent else Agent(), name)

    brain = value("brain")
    if brain in (Agent.Brain.OPENAI, *SPEECH_TO_SPEECH_BRAINS) and not (
        value("llm_endpoint") and value("llm_model")
    ):
        raise invalid(f"Brain {brain} needs LlmEndpoint and LlmModel")


def agent_create(*, account: Account, actor: str, llm_api_key: str = "", **settings: Any) -> Agent:
    checked = _checked(account, settings)
    with transaction.atomic():
        _check_brain(checked)
        agent = Agent(account=account, **checked)
        agent.set_llm_api_key(llm_api_key)
        agent.save()
        _audit(agent, actor=actor, action="create", payload={**checked, "llm_api_key_set": bool(llm_api_key)})
    return agent


def agent_update(*, agent: Agent, actor: str, llm_api_key: str | None = None, **changes: Any) -> Agent:
    """Change what was given; `llm_api_key` None keeps the key, "" removes it."""
    checked = _checked(agent.account, changes)
    _check_brain(checked, agent)
    with transaction.atomic():
        for name, value in checked.items():
            setattr(agent, name, value)
        if llm_api_key is not None:
            agent.set_llm_api_key(llm_api_key)
        agent.save()
        payload = {**checked, **({"llm_api_key_set": bool(llm_api_key)} if llm_api_key is not None else {})}
        _audit(agent, actor=actor, action="update", payload=payload)
    return agent


def agent_numbers(agent: Agent) -> list[IncomingPhoneNumber]:
    """The account's numbers whose calls reach `agent` (its TwiML as their Voice URL or fallback)."""
    twiml = f"/agents/{agent.sid}/twiml"
    numbers = IncomingPhoneNumber.objects.for_account(agent.account).filter(
        Q(voice_url__endswith=twiml) | Q(voice_fallback_url__endswith=twiml)
    )
    return list(numbers.order_by("phone_number"))


def agent_delete(*, agent: Agent, actor: str) -> None:
    """Delete the agent and its FAQ entries; refused while a number still sends its calls to it
    (they would fail): the administrator points the number elsewhere first, on purpose."""
    with transaction.atomic():
        if answering := agent_numbers(agent):
            held = ", ".join(number.phone_number for number in answering)
            raise invalid(
                f"Agent {agent.sid} cannot be deleted while {held} answers with it: "
                "point the number's Voice URL elsewhere first"
            )
        _audit(agent, actor=actor, action="delete")
        agent.delete()


def _checked_phrases(phrases: Any) -> list[str]:
    if isinstance(phrases, str):
        phrases = [line for line in phrases.splitlines()]
    cleaned = (
        [str(phrase).strip() for phrase in phrases if str(phrase).strip()]
        if isinstance(phrases, list)
        else []
    )
    if not cleaned or len(cleaned) > MAX_FAQ_PHRASES:
        raise invalid(f"Phrases must hold 1 to {MAX_FAQ_PHRASES} phrases")
    return cleaned


def faq_entry_create(*, agent: Agent, actor: str, phrases: Any, answer: str) -> FaqEntry:
    cleaned = _checked_phrases(phrases)
    if not answer.strip():
        raise invalid("Answer must not be empty")
    with transaction.atomic():
        entry = FaqEntry.objects.create(
            account_id=agent.account_id, agent=agent, phrases=cleaned, answer=answer
        )
        _audit(agent, actor=actor, action="faq.create", payload={"entry": entry.sid, "phrases": cleaned})
    return entry


def faq_entry_delete(*, entry: FaqEntry, actor: str) -> None:
    with transaction.atomic():
        _audit(entry.agent, actor=actor, action="faq.delete", payload={"entry": entry.sid})
        entry.delete()


def agent_number_assign(*, agent: Agent, number: IncomingPhoneNumber, actor: str) -> IncomingPhoneNumber:
    """Have `agent` answer `number`'s calls: its Voice URL becomes the agent's TwiML (POST)."""
    if number.account_id != agent.account_id:
        raise invalid(f"{number.phone_number} is not a number of this account")
    return number_update(number=number, actor=actor, voice_url=agent_twiml_url(agent), voice_method="POST")


def agent_session_audit(
    *,
    account_id: Any,
    agent_sid: str,
    call_sid: str,
    transcript: list[dict[str, str]],
    handoff: dict[str, Any] | None,
) -> None:
    """At a session's end: the transcript's digest in the account's chain (the chain keeps only the
    payload's SHA-256), so a transcript shown later can be proved unaltered."""
    with tenant_scope(account_id), transaction.atomic():
        audit_record(
            account_id=account_id,
            actor=f"agent:{agent_sid}",
            action="agent.session.end",
            object_sid=call_sid or agent_sid,
            payload={"transcript": transcript, "handoff": handoff},
        )
