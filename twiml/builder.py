"""Write verbs as TwiML, in the official SDK's style: declaration, no whitespace, sorted camelCase attributes.

Attributes equal to their default are left out, so the output says only what differs from Twilio's
behaviour. `parse_voice(to_xml(r)).response == r` for any `r` the parser can produce.
"""

import xml.etree.ElementTree as ET  # noqa: S405  (we only write XML here)
from dataclasses import fields
from typing import Any

from twiml.verbs import MessagingResponse, Response, attribute_name

DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


def to_xml(response: Response | MessagingResponse) -> str:
    return DECLARATION + ET.tostring(_element(response), encoding="unicode")


def _element(node: Any) -> ET.Element:
    tag = "Response" if isinstance(node, Response | MessagingResponse) else type(node).__name__
    attributes: dict[str, str] = {}
    nested: list[ET.Element] = []
    text, text_tag = "", None
    for f in fields(node):
        value = getattr(node, f.name)
        kind = f.metadata.get("twiml")
        if kind == "body":
            text, text_tag = value, f.metadata["tag"]
        elif kind == "children":
            child_tag = f.metadata["tag"]
            nested += [_text_element(child_tag, v) if child_tag else _element(v) for v in value]
        elif kind == "child":
            nested += [_element(value)] if value is not None else []
        elif value is not None and value != f.default:
            attributes[attribute_name(f.name)] = _format(value)
    element = ET.Element(tag, dict(sorted(attributes.items())))
    if text and nested and text_tag:  # Message with media, Client with parameters
        nested.insert(0, _text_element(text_tag, text))
    elif text:
        element.text = text
    element.extend(nested)
    return element


def _text_element(tag: str, text: str) -> ET.Element:
    element = ET.Element(tag)
    element.text = text
    return element


def _format(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return " ".join(value)
    return str(value)
