"""The worker's side of `ai.relay.contract`: a session's stream opened to the speech relay, its record
written for the relay, and its outcome taken back when the `<Connect>` ends."""

import json
import re
import uuid
from collections.abc import Callable

from django.conf import settings

from ai.relay import contract
from ai.speech import registry
from ai.speech.base import SpeechError
from core.sids import make_sid
from core.tenancy import tenant_scope
from core.throttling import redis_client
from streams import services
from streams.models import Stream
from twiml.verbs import ConversationRelay, Language
from voice.models import Call


def relay_stream_open(*, account_id: uuid.UUID, call_id: uuid.UUID, app_url: str) -> tuple[Stream, str]:
    """The session's bidirectional stream from the call to the speech relay, and the call's parent
    call SID ("" for none); TwilioError, as for a `<Stream>`, for an app URL Twilio would refuse or
    the destination policy does (the platform's own agents pass), or a call that ended."""
    services.stream_url_check(app_url)
    stream = services.stream_open(
        account_id=account_id,
        call_id=call_id,
        url=settings.SPEECH_RELAY_URL,
        name=None,
        track=Stream.Track.INBOUND,
        is_bidirectional=True,
        parameters={},
        status_callback="",
        status_callback_method="POST",
    )
    with tenant_scope(account_id):
        parent_id = Call.objects.filter(id=call_id).values_list("parent_call_id", flat=True).first()
    return stream, make_sid("CA", parent_id) if parent_id else ""


def _hints(text: str | None) -> list[str]:
    return [hint.strip() for hint in (text or "").split(",") if hint.strip()]


def _voice(language: Language) -> contract.Voice:
    return contract.Voice(
        code=language.code,
        tts_provider=language.tts_provider or "",
        voice=language.voice or "",
        transcription_provider=language.transcription_provider or "",
        speech_model=language.speech_model or "",
        hints=_hints(language.hints),
    )


def session_of(
    noun: ConversationRelay, *, session_id: str, signature: str, setup: dict[str, object]
) -> contract.Session:
    """The relay's record of a session as the noun sets it up (ttsLanguage and
    transcriptionLanguage default to `language`; a `<Language>` of that code fills what is unset)."""
    by_code = {language.code.lower(): language for language in noun.languages}

    def voice_for(code: str) -> contract.Voice:
        base = _voice(by_code.get(code.lower(), Language(code)))
        return contract.Voice(
            code=code,
            tts_provider=noun.tts_provider or base["tts_provider"],
            voice=noun.voice or base["voice"],
            transcription_provider=noun.transcription_provider or base["transcription_provider"],
            speech_model=noun.speech_model or base["speech_model"],
            hints=_hints(noun.hints) + base["hints"],
        )

    return contract.Session(
        session_id=session_id,
        url=noun.url or "",
        signature=signature,
        setup=setup,
        tts=voice_for(noun.tts_language or noun.language),
        transcription=voice_for(noun.transcription_language or noun.language),
        languages=[_voice(language) for language in noun.languages],
        welcome_greeting=noun.welcome_greeting or "",
        welcome_greeting_interruptible=noun.welcome_greeting_interruptible,
        interruptible=noun.interruptible,
        report_input_during_agent_speech=noun.report_input_during_agent_speech,
        dtmf_detection=noun.dtmf_detection,
        partial_prompts=noun.partial_prompts,
        preemptible=noun.preemptible,
    )


def providers_available(session: contract.Session) -> tuple[contract.Session, list[str]]:
    """The session with each provider this platform cannot use (unknown here, or without its key)
    blanked, so the offline default speaks or listens instead of the call going silent, and why,
    once a reason (each is worth a warning in the error log)."""
    reasons: dict[str, None] = {}

    def usable(lookup: Callable[[str], object], name: str) -> str:
        if name:
            try:
                lookup(name)
            except SpeechError as refused:
                reasons[f"<ConversationRelay> {refused}; the platform's default is used"] = None
                return ""
        return name

    def available(voice: contract.Voice) -> contract.Voice:
        return contract.Voice(
            code=voice["code"],
            tts_provider=usable(registry.text_to_speech, voice["tts_provider"]),
            voice=voice["voice"],
            transcription_provider=usable(registry.speech_to_text, voice["transcription_provider"]),
            speech_model=voice["speech_model"],
            hints=voice["hints"],
        )

    usable_session = contract.Session(
        **{
            **session,
            "tts": available(session["tts"]),
            "transcription": available(session["transcription"]),
            "languages": [available(voice) for voice in session["languages"]],
        }
    )
    return usable_session, list(reasons)


def call_type(from_number: str) -> str:
    """Twilio's `callType` in `setup`: how the caller reached us."""
    if from_number.startswith("client:"):
        return "CLIENT"
    return "SIP" if re.match(r"sips?:", from_number) else "PSTN"


def session_write(stream_sid: str, session: contract.Session) -> None:
    redis_client().set(contract.session_key(stream_sid), json.dumps(session), ex=contract.SESSION_TTL_SECONDS)


def outcome_take(stream_sid: str) -> contract.Outcome | None:
    """The session's outcome, once; None when the relay wrote none (it died, or never had the stream)."""
    raw = redis_client().getdel(contract.outcome_key(stream_sid))
    return json.loads(raw) if raw else None
