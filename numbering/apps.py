from django.apps import AppConfig


class NumberingConfig(AppConfig):
    name = "numbering"
    verbose_name = "Phone numbers"

    def ready(self) -> None:
        from numbering import receivers  # noqa: F401  (connects them)
