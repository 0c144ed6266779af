"""Input fields for Twilio-style parameters, raising Twilio's error codes."""

import json
from typing import Any

from rest_framework import serializers

from core.error_codes import ErrorCode
from core.phone import to_e164


class PhoneNumberField(serializers.CharField):
    """An E.164 number; anything else fails with the given Twilio code (21421 for numbers, 21211 for To)."""

    def __init__(self, *, error_code: ErrorCode = ErrorCode.INVALID_PHONE_NUMBER, **kwargs: Any) -> None:
        self.error_code = error_code
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        text = super().to_internal_value(data)
        e164 = to_e164(text)
        if e164 is None:
            name = self.field_name and "".join(p.capitalize() for p in self.field_name.split("_"))
            raise serializers.ValidationError(
                f"The '{name}' phone number: {text}, is not valid.", code=str(self.error_code)
            )
        return e164


class JsonTextField(serializers.CharField):
    """JSON sent as a parameter's text (Attributes, Tools, Phrases), of one `kind`, an object or an
    array: text that is not JSON, or JSON of the other kind, fails with Twilio's 20001."""

    kind: type[dict[str, Any]] | type[list[Any]] = dict

    def parse(self, data: Any) -> tuple[str, Any]:
        """The text as sent, and what it parses to."""
        text, code = super().to_internal_value(data), str(ErrorCode.UNKNOWN_PARAMETERS)
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise serializers.ValidationError(f"{text[:80]} is not valid JSON", code=code) from exc
        if not isinstance(parsed, self.kind):
            noun = "object" if self.kind is dict else "array"
            raise serializers.ValidationError(f"must be a JSON {noun}", code=code)
        return text, parsed


class CallbackUrlField(serializers.CharField):
    """An http(s) URL for a webhook; empty clears it. Bad URLs fail with Twilio's 21205."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 1024)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        text = super().to_internal_value(data).strip()
        if text and not serializers.URLField().run_validation(text).lower().startswith(
            ("http://", "https://")
        ):
            raise serializers.ValidationError(f"{text} is not a valid URL", code=str(ErrorCode.INVALID_URL))
        return text

    def run_validation(self, data: Any = serializers.empty) -> Any:
        try:
            return super().run_validation(data)
        except serializers.ValidationError as exc:
            if any(getattr(d, "code", "") == str(ErrorCode.INVALID_URL) for d in exc.detail):  # type: ignore[union-attr]
                raise
            raise serializers.ValidationError(
                f"{data} is not a valid URL", code=str(ErrorCode.INVALID_URL)
            ) from exc


class HttpMethodField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(choices=["GET", "POST"], **kwargs)

    def to_internal_value(self, data: Any) -> str:
        return str(super().to_internal_value(data.upper() if isinstance(data, str) else data))
