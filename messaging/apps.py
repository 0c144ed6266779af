from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"

    def ready(self) -> None:
        from messaging import verbs  # noqa: F401  (registers <Sms> with voice's interpreter)
