"""A session's speech engines: ai.speech's registry, by the noun's providers (blank: the platform's
offline defaults, espeak-ng and pocketsphinx), and a turn detector of its own."""

from ai.relay import contract
from ai.relay.session import Engines
from ai.speech import registry


def engines_for(session: contract.Session) -> Engines:
    return Engines(
        activity=registry.voice_activity(),
        text_to_speech=registry.text_to_speech,
        speech_to_text=registry.speech_to_text,
    )
