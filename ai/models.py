"""Built-in AI agents: an Agent (who answers, how it decides, which tools it may use, when it hands the
caller to a person) and the FAQ entries its offline scripted brain answers from."""

from typing import Any

from django.db import models

from core import crypto
from core.encrypted import EncryptedTextField
from core.models import TenantModel

BUILTIN_TOOLS = ("transfer_to_human", "send_text", "end_call", "lookup_history")


class Agent(TenantModel):
    """One tenant's agent, reached as a ConversationRelay app at `SWITCHBOARD_AGENTS_WS_URL<sid>`.

    `brain` "scripted" needs nothing outside the platform (phrases, slots and the FAQ entries); "openai"
    talks to any OpenAI-compatible chat endpoint with the tenant's own key, kept encrypted like auth
    tokens (core/crypto.py) because it must be sent, and never shown again once saved.
    "openai-realtime", "deepgram-agent" (Deepgram Voice Agent) and "gemini-live" (Gemini Live) are
    speech-to-speech models on the same llm_* fields, met over Media Streams at
    `SWITCHBOARD_AGENTS_WS_URL<sid>/stream` instead (ai/stream_agent.py).
    """

    SID_PREFIX = "AI"

    class Brain(models.TextChoices):
        SCRIPTED = "scripted"
        OPENAI = "openai"
        OPENAI_REALTIME = "openai-realtime"
        DEEPGRAM_AGENT = "deepgram-agent", "Deepgram Voice Agent"
        GEMINI_LIVE = "gemini-live"

    friendly_name = models.CharField(max_length=64)
    instructions = models.TextField(blank=True)
    welcome_greeting = models.CharField(max_length=1024, blank=True)
    language = models.CharField(max_length=16, default="en-US")
    voice = models.CharField(max_length=64, blank=True)
    tts_provider = models.CharField(max_length=32, blank=True)
    transcription_provider = models.CharField(max_length=32, blank=True)
    brain = models.CharField(max_length=16, choices=Brain.choices, default=Brain.SCRIPTED)
    llm_model = models.CharField(max_length=128, blank=True)
    llm_endpoint = models.CharField(max_length=2048, blank=True)  # base URL, `/chat/completions` added
    llm_api_key_encrypted = EncryptedTextField(blank=True, default="", aad=lambda agent: agent._key_aad())
    tools = models.JSONField(default=list)  # names of BUILTIN_TOOLS the agent may call
    webhook_tools = models.JSONField(default=list)  # tenant-defined tool specs (name, schema, url)
    handoff_workflow_sid = models.CharField(max_length=34, blank=True)  # TaskRouter workflow (WW…)
    handoff_queue = models.CharField(max_length=64, blank=True)  # the <Enqueue> name callers wait in
    max_turns_without_progress = models.PositiveSmallIntegerField(default=3)
    max_tool_rounds = models.PositiveSmallIntegerField(default=3)
    is_redacting = models.BooleanField(default=False)  # card numbers etc. out of records and prompts

    def _key_aad(self) -> str:
        return f"{self.account_id}|ai_agent|llm_api_key|{self.id}"

    def set_llm_api_key(self, key: str) -> None:
        self.llm_api_key_encrypted = crypto.encrypt(key, aad=self._key_aad()) if key else ""

    @property
    def llm_api_key(self) -> str:
        return (
            crypto.decrypt(self.llm_api_key_encrypted, aad=self._key_aad())
            if self.llm_api_key_encrypted
            else ""
        )

    @property
    def is_speech_to_speech(self) -> bool:
        """Its model hears and speaks itself: the call's audio goes to it over Media Streams."""
        return self.brain in SPEECH_TO_SPEECH_BRAINS

    @property
    def is_speech_only(self) -> bool:
        """Its model has no text mode here, so the portal's console cannot try it: a call can."""
        return self.brain in (Agent.Brain.DEEPGRAM_AGENT, Agent.Brain.GEMINI_LIVE)

    @property
    def has_handoff_route(self) -> bool:
        """A caller handed to a person has somewhere to go: a workflow, or a queue to wait in."""
        return bool(self.handoff_workflow_sid or self.handoff_queue)

    @property
    def has_llm_api_key(self) -> bool:
        return bool(self.llm_api_key_encrypted)

    def __str__(self) -> str:
        return f"{self.friendly_name} ({self.sid})"


SPEECH_TO_SPEECH_BRAINS = (Agent.Brain.OPENAI_REALTIME, Agent.Brain.DEEPGRAM_AGENT, Agent.Brain.GEMINI_LIVE)


class FaqEntry(TenantModel):
    """A question the scripted brain recognises by any of its phrases, and the answer it speaks."""

    SID_PREFIX = "AF"

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="faq_entries")
    phrases = models.JSONField(default=list)  # e.g. ["opening hours", "when are you open"]
    answer = models.TextField()

    def as_dict(self) -> dict[str, Any]:
        return {"sid": self.sid, "phrases": list(self.phrases), "answer": self.answer}
