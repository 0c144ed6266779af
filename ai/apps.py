from django.apps import AppConfig


class AiConfig(AppConfig):
    name = "ai"

    def ready(self) -> None:
        from ai.relay import verbs  # noqa: F401  (registers <Connect><ConversationRelay>)
