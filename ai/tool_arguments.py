"""A tool's JSON-schema parameters and the arguments a model sends, checked before any tool runs.

A model's arguments are untrusted text (caller speech reaches the model), and a webhook tool's schema
is a tenant's: both are checked here, by `jsonschema` (Draft 2020-12, the dialect OpenAI's function
`parameters` take). A tenant's schema may not hold `pattern` or `patternProperties`: their regular
expressions would run on the platform's event loop against text a caller steers (a catastrophic
pattern would stall every call on the worker). Nor a `$ref` outside the schema itself: nothing is
fetched to validate.
"""

import json
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, best_match

MAX_SCHEMA_CHARS = 16 * 1024
MAX_ARGUMENTS_CHARS = 16 * 1024
_FORBIDDEN = frozenset({"pattern", "patternProperties", "$dynamicRef", "$recursiveRef"})
# keywords whose value maps names (of properties, definitions) to schemas: there, any name is allowed
_NAMING = frozenset({"properties", "$defs", "definitions", "dependentSchemas"})


class Refused(Exception):
    """The arguments cannot be used; `reason` is said to the model, so it can correct its call."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _keywords(schema: Any, naming: bool = False) -> Iterator[tuple[str, Any]]:
    if isinstance(schema, list):
        for item in schema:
            yield from _keywords(item)
    elif isinstance(schema, dict):
        for key, value in schema.items():
            if not naming:
                yield key, value
            yield from _keywords(value, naming=not naming and key in _NAMING)


def schema_problem(schema: Any) -> str | None:
    """Why `schema` cannot describe a tool's arguments, in words for the tenant; None when it can."""
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return 'must be a JSON schema object with "type": "object"'
    if len(json.dumps(schema)) > MAX_SCHEMA_CHARS:
        return f"must be at most {MAX_SCHEMA_CHARS} characters of JSON"
    for key, value in _keywords(schema):
        if key in _FORBIDDEN:
            return f"may not use {key}"
        if key == "$ref" and not str(value).startswith("#"):
            return "may refer ($ref) only within itself"
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return f"is not a valid JSON schema: {exc.message}"
    return None


def checked(value: Any, schema: dict[str, Any]) -> dict[str, Any]:
    """`value` when it is an arguments object valid against `schema` (one `schema_problem` passed);
    Refused otherwise."""
    if not isinstance(value, dict):
        raise Refused("the arguments must be a JSON object")
    error = best_match(Draft202012Validator(schema).iter_errors(value))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "the arguments"
        raise Refused(f"{where}: {error.message}"[:300])
    return value


def parsed(arguments: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The arguments a model sent, as text, parsed and `checked`."""
    if len(arguments) > MAX_ARGUMENTS_CHARS:
        raise Refused(f"the arguments are over {MAX_ARGUMENTS_CHARS} characters")
    try:
        value = json.loads(arguments or "{}")
    except json.JSONDecodeError as exc:
        raise Refused(f"the arguments are not valid JSON ({exc.msg})") from exc
    return checked(value, schema)
