"""Input and output shapes of `/ai/v1/Agents` and their `FaqEntries`, in Twilio's v1 style: PascalCase
form parameters (the parser makes them snake_case), ISO 8601 dates, absolute `url`s. The LLM key is
write-only: an agent shows whether it has one, never the key."""

from typing import Any

from rest_framework import serializers

from ai.models import Agent, FaqEntry
from core.api import TwilioBoolean
from core.dates import iso8601
from core.fields import JsonTextField
from core.sids import make_sid
from core.v1 import absolute_url


class JsonList(JsonTextField):
    """A JSON array as text (Tools, WebhookTools, Phrases), parsed."""

    kind = list

    def to_internal_value(self, data: Any) -> list[Any]:  # type: ignore[override]
        parsed: list[Any] = self.parse(data)[1]
        return parsed


class AgentUpdateInput(serializers.Serializer):
    friendly_name = serializers.CharField(required=False, max_length=64)
    instructions = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    welcome_greeting = serializers.CharField(required=False, allow_blank=True, max_length=1024)
    language = serializers.CharField(required=False, max_length=16)
    voice = serializers.CharField(required=False, allow_blank=True, max_length=64)
    tts_provider = serializers.CharField(required=False, allow_blank=True, max_length=32)
    transcription_provider = serializers.CharField(required=False, allow_blank=True, max_length=32)
    brain = serializers.ChoiceField(choices=Agent.Brain.choices, required=False)
    llm_model = serializers.CharField(required=False, allow_blank=True, max_length=128)
    llm_endpoint = serializers.URLField(required=False, allow_blank=True, max_length=2048)
    llm_api_key = serializers.CharField(required=False, allow_blank=True, max_length=512)
    tools = JsonList(required=False)
    webhook_tools = JsonList(required=False)
    handoff_workflow_sid = serializers.CharField(required=False, allow_blank=True, max_length=34)
    handoff_queue = serializers.CharField(required=False, allow_blank=True, max_length=64)
    max_turns_without_progress = serializers.IntegerField(required=False, min_value=1, max_value=20)
    max_tool_rounds = serializers.IntegerField(required=False, min_value=1, max_value=10)
    is_redacting = TwilioBoolean(required=False)


class AgentCreateInput(AgentUpdateInput):
    friendly_name = serializers.CharField(max_length=64)


class FaqEntryCreateInput(serializers.Serializer):
    phrases = JsonList()
    answer = serializers.CharField(max_length=4000)


def agent_url(agent: Agent, *parts: str) -> str:
    return absolute_url("/".join(("/ai/v1/Agents", agent.sid, *parts)))


class AgentOutput(serializers.Serializer):
    """The fields below document the schema; `to_representation` writes them."""

    sid = serializers.CharField()
    account_sid = serializers.CharField()
    friendly_name = serializers.CharField()
    instructions = serializers.CharField()
    welcome_greeting = serializers.CharField()
    language = serializers.CharField()
    voice = serializers.CharField(allow_null=True)
    tts_provider = serializers.CharField(allow_null=True)
    transcription_provider = serializers.CharField(allow_null=True)
    brain = serializers.ChoiceField(choices=Agent.Brain.choices)
    llm_model = serializers.CharField(allow_null=True)
    llm_endpoint = serializers.CharField(allow_null=True)
    has_llm_api_key = serializers.BooleanField(help_text="The key itself is never shown.")
    tools = serializers.ListField(child=serializers.CharField())
    webhook_tools = serializers.ListField(child=serializers.DictField())
    handoff_workflow_sid = serializers.CharField(allow_null=True)
    handoff_queue = serializers.CharField(allow_null=True)
    max_turns_without_progress = serializers.IntegerField()
    max_tool_rounds = serializers.IntegerField()
    is_redacting = serializers.BooleanField()
    date_created = serializers.DateTimeField()
    date_updated = serializers.DateTimeField()
    twiml_url = serializers.CharField(help_text="A number's Voice URL for this agent to answer it.")
    url = serializers.CharField()
    links = serializers.DictField(child=serializers.CharField())

    def to_representation(self, agent: Agent) -> dict[str, Any]:
        return {
            "sid": agent.sid,
            "account_sid": make_sid("AC", agent.account_id),
            "friendly_name": agent.friendly_name,
            "instructions": agent.instructions,
            "welcome_greeting": agent.welcome_greeting,
            "language": agent.language,
            "voice": agent.voice or None,
            "tts_provider": agent.tts_provider or None,
            "transcription_provider": agent.transcription_provider or None,
            "brain": agent.brain,
            "llm_model": agent.llm_model or None,
            "llm_endpoint": agent.llm_endpoint or None,
            "has_llm_api_key": agent.has_llm_api_key,
            "tools": agent.tools,
            "webhook_tools": agent.webhook_tools,
            "handoff_workflow_sid": agent.handoff_workflow_sid or None,
            "handoff_queue": agent.handoff_queue or None,
            "max_turns_without_progress": agent.max_turns_without_progress,
            "max_tool_rounds": agent.max_tool_rounds,
            "is_redacting": agent.is_redacting,
            "date_created": iso8601(agent.date_created),
            "date_updated": iso8601(agent.date_updated),
            "twiml_url": absolute_url(f"/agents/{agent.sid}/twiml"),
            "url": agent_url(agent),
            "links": {"faq_entries": agent_url(agent, "FaqEntries")},
        }


class FaqEntryOutput(serializers.Serializer):
    sid = serializers.CharField()
    account_sid = serializers.CharField()
    agent_sid = serializers.CharField()
    phrases = serializers.ListField(child=serializers.CharField())
    answer = serializers.CharField()
    date_created = serializers.DateTimeField()
    url = serializers.CharField()

    def to_representation(self, entry: FaqEntry) -> dict[str, Any]:
        return {
            "sid": entry.sid,
            "account_sid": make_sid("AC", entry.account_id),
            "agent_sid": make_sid("AI", entry.agent_id),
            "phrases": entry.phrases,
            "answer": entry.answer,
            "date_created": iso8601(entry.date_created),
            "url": agent_url(entry.agent, "FaqEntries", entry.sid),
        }
