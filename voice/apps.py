from django.apps import AppConfig


class VoiceConfig(AppConfig):
    name = "voice"

    def ready(self) -> None:
        from voice import (
            monitoring,  # noqa: F401  (a call's end ends its monitors)
            verbs,  # noqa: F401  (registers voice's verbs with the interpreter)
        )
