"""Model columns whose values core.crypto seals, so that whatever must find every encrypted column
(`manage.py rotate_field_keys`) finds them through the app registry rather than a list to keep."""

from collections.abc import Callable
from typing import Any

from django.db import models


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """A text column holding `core.crypto.encrypt`'s output; `aad(row)` is the associated data its
    row's value is sealed under. The schema is a plain text column: migrations see a TextField."""

    def __init__(self, *args: Any, aad: Callable[[Any], str], **kwargs: Any) -> None:
        self.aad = aad
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, _, args, kwargs = super().deconstruct()
        return name, "django.db.models.TextField", args, kwargs

    def clone(self) -> "EncryptedTextField":
        """A copy with its `aad`, which `deconstruct` leaves out of the schema."""
        _, _, args, kwargs = super().deconstruct()
        return self.__class__(*args, aad=self.aad, **kwargs)
