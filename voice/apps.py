from django.apps import AppConfig


class VoiceConfig(AppConfig):
    name = "voice"

    def ready(self) -> None:
        from voice import verbs  # noqa: F401  (registers voice's verbs with the interpreter)
