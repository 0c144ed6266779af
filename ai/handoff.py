"""The TwiML of an agent's number and of its `<Connect action>`: the call meets the agent over
ConversationRelay, and when the session ends its `handoffData` decides what the call does next.

`live-agent-handoff` enqueues the caller on the agent's TaskRouter workflow as a voice task whose
attributes carry the summary and transcript (the agent console pops them), or with only a queue name
on that 2010 Queue; `end-call`, or a session that ended without hand-off data, hangs up; a hand-off
with neither configured says nobody can take the call, then hangs up.
"""

import json
from typing import Any

from django.conf import settings

from ai.models import Agent
from ai.runtime import HINT_PHRASES
from twiml import verbs

VOICE = "woman"


def agent_ws_url(agent: Agent) -> str:
    return f"{settings.AGENTS_WS_URL}{agent.sid}"


def agent_twiml_url(agent: Agent) -> str:
    """The Voice URL of a number the agent answers."""
    return f"{settings.PUBLIC_BASE_URL}/agents/{agent.sid}/twiml"


def agent_stream_url(agent: Agent) -> str:
    """Where a speech-to-speech agent takes the call's Media Stream (ai/stream_agent.py)."""
    return f"{agent_ws_url(agent)}/stream"


def agent_hints(agent: Agent) -> list[str]:
    """What the caller is likely to say, for the speech-to-text: the runtime's own phrases, the FAQ's,
    and, for an agent that may text, "text me the <FAQ phrase>". The offline recogniser's grammar takes
    each hint whole: "text me" and "address" apart made "text me the address" into "i need to a human"."""
    phrases = [p for entry in agent.faq_entries.all() for p in entry.phrases]
    texts = [f"text me the {p}" for p in phrases] if "send_text" in agent.tools else []
    return list(dict.fromkeys([*HINT_PHRASES, *phrases, *texts]))


def agent_twiml(agent: Agent, *, hints: str = "") -> verbs.Response:
    """`<Connect action=…><ConversationRelay url=… welcomeGreeting=…/></Connect>` for the agent, or
    `<Connect action=…><Stream url=…/></Connect>` for one whose model hears and speaks itself."""
    action = f"/agents/{agent.sid}/handoff"  # relative: resolved against the URL this document came from
    if agent.is_speech_to_speech:
        stream = verbs.Stream(url=agent_stream_url(agent))
        return verbs.Response((verbs.Connect(children=(stream,), action=action),))
    relay = verbs.ConversationRelay(
        url=agent_ws_url(agent),
        language=agent.language,
        welcome_greeting=agent.welcome_greeting or None,
        voice=agent.voice or None,
        tts_provider=agent.tts_provider or None,
        transcription_provider=agent.transcription_provider or None,
        dtmf_detection=True,
        hints=hints or None,
    )
    return verbs.Response((verbs.Connect(children=(relay,), action=action),))


def _handoff_data(raw: str) -> dict[str, Any]:
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def handoff_twiml(
    agent: Agent, *, handoff_data: str, session_status: str = "completed", error: str = ""
) -> verbs.Response:
    """What the call does once its session with `agent` has ended. A session that failed or ended
    without the agent's `end` (the relay or the agent lost) is no reason to lose the caller: they are
    told and handed to a person like any other escalation, with the hand-off data it left if any (a
    speech-to-speech session whose model failed mid-call leaves its transcript)."""
    data = _handoff_data(handoff_data)
    apology: tuple[verbs.VoiceVerb, ...] = ()
    if session_status in ("failed", "ended"):
        reason = f"the AI agent's session {session_status}" + (f": {error}" if error else "")
        data = data or {
            "reasonCode": "live-agent-handoff",
            "reason": reason,
            "summary": f"Not served by the AI agent ({reason}).",
        }
        apology = (
            verbs.Say(
                "Sorry, our assistant is not available. Let me connect you with our team.", voice=VOICE
            ),
        )
    if data.get("reasonCode") != "live-agent-handoff":
        return verbs.Response((verbs.Hangup(),))
    goodbye = verbs.Say("Thank you for calling. Goodbye.", voice=VOICE)
    if not agent.handoff_workflow_sid and agent.handoff_queue:  # a plain queue, dequeued by <Dial><Queue>
        return verbs.Response((*apology, verbs.Enqueue(agent.handoff_queue), goodbye, verbs.Hangup()))
    if not agent.handoff_workflow_sid:
        sorry = "Sorry, nobody from our team can take your call right now. Please call again later. Goodbye."
        return verbs.Response((verbs.Say(sorry, voice=VOICE), verbs.Hangup()))
    attributes = {
        "type": "ai-handoff",
        "agent_sid": agent.sid,
        "queue": str(data.get("queue", "")),
        "reason": str(data.get("reason", "")),
        "summary": str(data.get("summary", "")),
        "transcript": data.get("transcript", []) if isinstance(data.get("transcript"), list) else [],
    }
    enqueue = verbs.Enqueue(
        agent.handoff_queue or str(data.get("queue", "")) or agent.friendly_name,
        workflow_sid=agent.handoff_workflow_sid,
        task=verbs.Task(json.dumps(attributes)),
    )
    return verbs.Response((*apology, enqueue, goodbye, verbs.Hangup()))
