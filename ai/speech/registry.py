"""Speech engines by name: ConversationRelay's `ttsProvider` and `transcriptionProvider` values (any
case), the agents' settings, or the platform's defaults (settings.SPEECH_*), which are the offline
engines, so a call speaks and listens with no account anywhere.

A name nobody here knows, or a provider whose key is not configured, is refused with a SpeechError
that says which names work, rather than falling back silently to another voice.
"""

from collections.abc import Callable
from typing import TypedDict, TypeVar

from django.conf import settings

from ai.speech import espeak
from ai.speech.base import SpeechError, SpeechToText, TextToSpeech, VoiceActivity
from ai.speech.espeak import EspeakTextToSpeech
from ai.speech.providers.deepgram import DeepgramSpeechToText
from ai.speech.providers.elevenlabs import ElevenLabsTextToSpeech
from ai.speech.providers.google_stt import GoogleSpeechToText
from ai.speech.providers.google_tts import GoogleTextToSpeech
from ai.speech.providers.openai_stt import OpenAISpeechToText
from ai.speech.providers.openai_tts import OpenAITextToSpeech
from ai.speech.providers.polly import PollyTextToSpeech
from ai.speech.providers.transcribe import TranscribeSpeechToText
from ai.speech.sphinx import SphinxSpeechToText
from ai.speech.vad import EnergyActivity, SileroActivity

Engine = TypeVar("Engine")


class UnknownProvider(SpeechError):
    """No such provider here, or it is not configured."""


def _configured(name: str) -> str:
    """The key or secret in setting `name`, refused while its environment variable is unset."""
    value: str = getattr(settings, name)
    if not value:
        raise UnknownProvider(f"set SWITCHBOARD_{name} to use this provider")
    return value


class _HostedVoices(TypedDict):
    api_key: str
    url: str
    model: str
    default_voice: str


def _hosted_voices(vendor: str) -> _HostedVoices:
    """A keyed vendor's voices as its SPEECH_<vendor>_API_KEY, _URL, _MODEL and _VOICE settings say."""
    return _HostedVoices(
        api_key=_configured(f"SPEECH_{vendor}_API_KEY"),
        url=getattr(settings, f"SPEECH_{vendor}_URL"),
        model=getattr(settings, f"SPEECH_{vendor}_MODEL"),
        default_voice=getattr(settings, f"SPEECH_{vendor}_VOICE"),
    )


def _openai() -> OpenAITextToSpeech:
    return OpenAITextToSpeech(**_hosted_voices("OPENAI"))


def _elevenlabs() -> ElevenLabsTextToSpeech:
    return ElevenLabsTextToSpeech(**_hosted_voices("ELEVENLABS"))


def _google() -> GoogleTextToSpeech:
    return GoogleTextToSpeech(
        api_key=_configured("SPEECH_GOOGLE_API_KEY"),
        url=settings.SPEECH_GOOGLE_TTS_URL,
    )


class _AwsAccount(TypedDict):
    access_key: str
    secret_key: str
    region: str


def _aws_account() -> _AwsAccount:
    return _AwsAccount(
        access_key=_configured("SPEECH_AWS_ACCESS_KEY_ID"),
        secret_key=_configured("SPEECH_AWS_SECRET_ACCESS_KEY"),
        region=settings.SPEECH_AWS_REGION,
    )


def _polly() -> PollyTextToSpeech:
    return PollyTextToSpeech(
        **_aws_account(), url=settings.SPEECH_POLLY_URL, default_voice=settings.SPEECH_POLLY_VOICE
    )


def _transcribe() -> TranscribeSpeechToText:
    return TranscribeSpeechToText(**_aws_account(), url=settings.SPEECH_TRANSCRIBE_URL)


def _keyed_listener(
    engine: Callable[..., SpeechToText], vendor: str, service: str
) -> Callable[[], SpeechToText]:
    """A keyed vendor's speech-to-text as its SPEECH_<vendor>_API_KEY and SPEECH_<service>_URL and
    _MODEL settings say."""

    def make() -> SpeechToText:
        return engine(
            api_key=_configured(f"SPEECH_{vendor}_API_KEY"),
            url=getattr(settings, f"SPEECH_{service}_URL"),
            model=getattr(settings, f"SPEECH_{service}_MODEL"),
        )

    return make


TEXT_TO_SPEECH: dict[str, Callable[[], TextToSpeech]] = {
    "espeak": EspeakTextToSpeech,
    "espeak-ng": EspeakTextToSpeech,
    "openai": _openai,
    "elevenlabs": _elevenlabs,
    "google": _google,
    "amazon": _polly,
    "polly": _polly,
}
SPEECH_TO_TEXT: dict[str, Callable[[], SpeechToText]] = {
    "pocketsphinx": SphinxSpeechToText,
    "deepgram": _keyed_listener(DeepgramSpeechToText, "DEEPGRAM", "DEEPGRAM"),
    "google": _keyed_listener(GoogleSpeechToText, "GOOGLE", "GOOGLE_STT"),
    "openai": _keyed_listener(OpenAISpeechToText, "OPENAI", "OPENAI_STT"),
    "amazon": _transcribe,
}
VOICE_ACTIVITY: dict[str, Callable[..., VoiceActivity]] = {"silero": SileroActivity, "energy": EnergyActivity}


def _pick(table: dict[str, Callable[[], Engine]], name: str, default: str, attribute: str) -> Engine:
    shown = name.strip() or default
    key = shown.lower()
    if key not in table:
        raise UnknownProvider(
            f"{attribute} {shown!r} is not available here; use one of: {', '.join(sorted(table))}"
        )
    try:
        return table[key]()
    except UnknownProvider as error:
        raise UnknownProvider(f"{attribute} {shown!r} is not configured: {error}") from error


def text_to_speech(name: str = "") -> TextToSpeech:
    """The engine for a `ttsProvider` value; blank is the platform's default."""
    return _pick(TEXT_TO_SPEECH, name, settings.SPEECH_TTS_PROVIDER, "ttsProvider")


def warm_text_to_speech() -> None:
    """At the relay's start: when the default voice is espeak-ng, its synthesis workers start then,
    so that the first call's greeting does not wait for them."""
    if TEXT_TO_SPEECH.get(settings.SPEECH_TTS_PROVIDER.lower()) is EspeakTextToSpeech:
        espeak.warm()


def speech_to_text(name: str = "") -> SpeechToText:
    """The engine for a `transcriptionProvider` value; blank is the platform's default."""
    return _pick(SPEECH_TO_TEXT, name, settings.SPEECH_STT_PROVIDER, "transcriptionProvider")


def voice_activity(*, end_of_turn_ms: int | None = None) -> VoiceActivity:
    """A new detector for one call, ending turns after `end_of_turn_ms` of silence (default: the setting)."""
    detector = VOICE_ACTIVITY.get(settings.SPEECH_VAD.lower())
    if detector is None:
        raise UnknownProvider(
            f"SWITCHBOARD_SPEECH_VAD {settings.SPEECH_VAD!r}: use one of {', '.join(VOICE_ACTIVITY)}"
        )
    return detector(end_ms=end_of_turn_ms or settings.SPEECH_END_OF_TURN_MS)
