"""Speech engines by ConversationRelay's provider names: the offline defaults, any case, the
production adapters only with their keys, and a clear refusal for anything else."""

import pytest

from ai.speech.espeak import EspeakTextToSpeech
from ai.speech.providers.deepgram import DeepgramSpeechToText
from ai.speech.providers.elevenlabs import ElevenLabsTextToSpeech
from ai.speech.providers.google_stt import GoogleSpeechToText
from ai.speech.providers.google_tts import GoogleTextToSpeech
from ai.speech.providers.openai_stt import OpenAISpeechToText
from ai.speech.providers.openai_tts import OpenAITextToSpeech
from ai.speech.providers.polly import PollyTextToSpeech
from ai.speech.providers.transcribe import TranscribeSpeechToText
from ai.speech.registry import UnknownProvider, speech_to_text, text_to_speech, voice_activity
from ai.speech.sphinx import SphinxSpeechToText
from ai.speech.vad import EnergyActivity, SileroActivity


def test_blank_names_are_the_offline_defaults():
    assert isinstance(text_to_speech(""), EspeakTextToSpeech)
    assert isinstance(speech_to_text(""), SphinxSpeechToText)


def test_names_are_case_insensitive():
    assert isinstance(text_to_speech("eSpeak"), EspeakTextToSpeech)
    assert isinstance(speech_to_text("PocketSphinx"), SphinxSpeechToText)


def test_an_unknown_provider_is_refused_naming_those_that_work():
    names = "amazon, elevenlabs, espeak, espeak-ng, google, openai, polly"
    with pytest.raises(
        UnknownProvider, match=f"ttsProvider 'Nuance' is not available here; use one of: {names}"
    ):
        text_to_speech("Nuance")
    with pytest.raises(
        UnknownProvider,
        match=r"transcriptionProvider 'Nuance' .*amazon, deepgram, google, openai, pocketsphinx",
    ):
        speech_to_text("Nuance")


def test_a_provider_without_its_key_is_refused(settings):
    settings.SPEECH_DEEPGRAM_API_KEY = ""
    with pytest.raises(UnknownProvider, match="SWITCHBOARD_SPEECH_DEEPGRAM_API_KEY"):
        speech_to_text("Deepgram")


def test_configured_providers_get_their_settings(settings):
    settings.SPEECH_DEEPGRAM_API_KEY, settings.SPEECH_DEEPGRAM_URL = "dg", "ws://127.0.0.1:1/v1/listen"
    settings.SPEECH_OPENAI_API_KEY, settings.SPEECH_OPENAI_URL = "sk", "http://127.0.0.1:1/v1/audio/speech"
    settings.SPEECH_ELEVENLABS_API_KEY, settings.SPEECH_ELEVENLABS_URL = "xi", "http://127.0.0.1:1"
    deepgram, openai = speech_to_text("deepgram"), text_to_speech("OpenAI")
    settings.SPEECH_GOOGLE_API_KEY = "g"
    assert isinstance(text_to_speech("Google"), GoogleTextToSpeech)
    settings.SPEECH_AWS_ACCESS_KEY_ID, settings.SPEECH_AWS_SECRET_ACCESS_KEY = "AKID", "secret"
    settings.SPEECH_AWS_REGION, settings.SPEECH_POLLY_URL = "eu-west-1", ""
    polly = text_to_speech("Amazon")
    assert (
        isinstance(polly, PollyTextToSpeech)
        and polly.url == "https://polly.eu-west-1.amazonaws.com/v1/speech"
    )
    elevenlabs = text_to_speech("ElevenLabs")  # Twilio's default ttsProvider, as an app names it
    assert isinstance(elevenlabs, ElevenLabsTextToSpeech) and elevenlabs.url == "http://127.0.0.1:1"
    assert isinstance(deepgram, DeepgramSpeechToText) and (deepgram.api_key, deepgram.url) == (
        "dg",
        "ws://127.0.0.1:1/v1/listen",
    )
    assert isinstance(openai, OpenAITextToSpeech) and openai.url == "http://127.0.0.1:1/v1/audio/speech"


def test_amazon_transcribes_with_the_aws_account_pollys_voices_use(settings):
    settings.SPEECH_AWS_ACCESS_KEY_ID, settings.SPEECH_AWS_SECRET_ACCESS_KEY = "", "secret"
    with pytest.raises(UnknownProvider, match="SWITCHBOARD_SPEECH_AWS_ACCESS_KEY_ID"):
        speech_to_text("Amazon")
    settings.SPEECH_AWS_ACCESS_KEY_ID, settings.SPEECH_AWS_REGION = "AKID", "eu-west-1"
    settings.SPEECH_TRANSCRIBE_URL = ""
    transcribe = speech_to_text("Amazon")
    assert isinstance(transcribe, TranscribeSpeechToText) and (
        transcribe.access_key,
        transcribe.secret_key,
        transcribe.url,
    ) == (
        "AKID",
        "secret",
        "wss://transcribestreaming.eu-west-1.amazonaws.com:8443/stream-transcription-websocket",
    )


def test_google_transcribes_with_the_key_its_voices_use(settings):
    settings.SPEECH_GOOGLE_API_KEY = ""
    with pytest.raises(UnknownProvider, match="SWITCHBOARD_SPEECH_GOOGLE_API_KEY"):
        speech_to_text("Google")
    settings.SPEECH_GOOGLE_API_KEY, settings.SPEECH_GOOGLE_STT_MODEL = "g", "latest_short"
    google = speech_to_text("Google")  # as a ConversationRelay app names it
    assert isinstance(google, GoogleSpeechToText) and (google.api_key, google.url, google.model) == (
        "g",
        "https://speech.googleapis.com/v1/speech:recognize",
        "latest_short",
    )


def test_openai_transcribes_with_the_key_its_voices_use(settings):
    settings.SPEECH_OPENAI_API_KEY, settings.SPEECH_OPENAI_STT_MODEL = "sk", "gpt-4o-mini-transcribe"
    openai = speech_to_text("OpenAI")
    assert isinstance(openai, OpenAISpeechToText) and (openai.api_key, openai.url, openai.model) == (
        "sk",
        "https://api.openai.com/v1/audio/transcriptions",
        "gpt-4o-mini-transcribe",
    )


def test_the_platform_default_is_a_setting(settings):
    settings.SPEECH_TTS_PROVIDER = "nobody"
    with pytest.raises(UnknownProvider, match="ttsProvider 'nobody'"):
        text_to_speech()


def test_voice_activity_follows_the_settings(settings):
    settings.SPEECH_VAD, settings.SPEECH_END_OF_TURN_MS = "energy", 450
    detector = voice_activity()
    assert isinstance(detector, EnergyActivity) and detector.turns.end_ms == 450
    settings.SPEECH_VAD = "Silero"
    detector = voice_activity(end_of_turn_ms=900)
    assert isinstance(detector, SileroActivity) and detector.turns.end_ms == 900
