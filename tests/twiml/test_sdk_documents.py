"""Documents written by the official SDK parse to the exact typed verbs, defaults filled in, no warnings."""

import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Any

import pytest

from tests.twiml.cases import MESSAGING, VOICE, as_response, messaging, voice
from twiml import schema
from twiml.parser import ParseResult, parse_messaging, parse_voice
from twiml.verbs import MessagingResponse, Response


@pytest.mark.parametrize(("build", "expected"), VOICE)
def test_voice_document_from_sdk(build: Any, expected: Any) -> None:
    assert parse_voice(voice(build)) == ParseResult(as_response(expected, Response))


@pytest.mark.parametrize(("build", "expected"), MESSAGING)
def test_messaging_document_from_sdk(build: Any, expected: Any) -> None:
    assert parse_messaging(messaging(build)) == ParseResult(as_response(expected, MessagingResponse))


def test_sdk_cases_set_every_modelled_attribute() -> None:
    """Guards the cases above: a modelled attribute nobody sets from the SDK would go untested."""
    seen: dict[str, set[str]] = defaultdict(set)
    documents = [voice(p.values[0]) for p in VOICE] + [messaging(p.values[0]) for p in MESSAGING]
    for document in documents:
        for element in ET.fromstring(document.encode()).iter():  # noqa: S314  (the SDK's own output)
            seen[element.tag] |= set(element.attrib)
    missing = {
        spec.tag: set(spec.by_attribute) - seen[spec.tag]
        for root in (schema.VOICE, schema.MESSAGING)
        for spec in _specs(root)
        if set(spec.by_attribute) - seen[spec.tag]
    }
    assert missing == {}


def _specs(root: schema.Spec) -> list[schema.Spec]:
    found, stack = [], [root]
    while stack:
        spec = stack.pop()
        found.append(spec)
        stack.extend(child for child, _ in spec.children.values())
    return found
