"""Parse TwiML documents into verbs: `parse_voice` and `parse_messaging`.

Safety: the document is refused (12100) if it has a DOCTYPE or ENTITY declaration, so no entity can
expand or be fetched (defusedxml is not installed and not needed for this rule). Text bodies are
trimmed of surrounding whitespace, as Twilio does. See `twiml.errors` for errors versus warnings.
"""

import re
import xml.etree.ElementTree as ET  # noqa: S405  (DTDs are refused before parsing, see _root)
from dataclasses import MISSING, dataclass, fields
from typing import Any, Generic, TypeVar

from twiml import schema
from twiml.errors import Code, TwimlError, TwimlWarning
from twiml.verbs import MessagingResponse, Response, attribute_name

MAX_DOCUMENT_BYTES = 64 * 1024
_DECLARATION_ENCODING = re.compile(rb"""\s*<\?xml[^>]*?\bencoding\s*=\s*["']([^"']*)["']""")
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)

R = TypeVar("R", Response, MessagingResponse)


@dataclass(frozen=True)
class ParseResult(Generic[R]):
    """The document, and what was ignored on the way (each warning is also worth a Notification)."""

    response: R
    warnings: tuple[TwimlWarning, ...] = ()


def parse_voice(document: str | bytes) -> ParseResult[Response]:
    """Parse a voice document; raises TwimlError when it cannot run."""
    walker = _Walker(schema.VOICE)
    response: Response = walker.element(_root(document), schema.VOICE, "")
    return ParseResult(response, tuple(walker.warnings))


def parse_messaging(document: str | bytes) -> ParseResult[MessagingResponse]:
    """Parse a messaging reply document; raises TwimlError when it cannot be used."""
    walker = _Walker(schema.MESSAGING, foreign=schema.VOICE)
    response: MessagingResponse = walker.element(_root(document), schema.MESSAGING, "")
    return ParseResult(response, tuple(walker.warnings))


def _root(document: str | bytes) -> ET.Element:
    if isinstance(document, str):
        try:
            data = document.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise TwimlError(Code.PARSE_FAILURE, f"not valid Unicode text: {exc.reason}") from None
    else:
        data = document
    if len(data) > MAX_DOCUMENT_BYTES:
        raise TwimlError(
            Code.RESPONSE_TOO_LARGE, f"the document has {len(data)} bytes; the limit is {MAX_DOCUMENT_BYTES}"
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TwimlError(Code.PARSE_FAILURE, f"not UTF-8: invalid byte at offset {exc.start}") from None
    if not data.strip():
        raise TwimlError(Code.PARSE_FAILURE, "the document is empty")
    if _DTD.search(data):
        raise TwimlError(Code.PARSE_FAILURE, "DOCTYPE and ENTITY declarations are not allowed")
    declared = _DECLARATION_ENCODING.match(data.removeprefix(b"\xef\xbb\xbf"))
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        raise TwimlError(
            Code.PARSE_FAILURE, f"declared encoding {declared.group(1).decode()!r}; TwiML is UTF-8"
        )
    try:
        root = ET.fromstring(data)  # noqa: S314  (no DTD can reach the parser, see above)
    except ET.ParseError as exc:
        line, column = exc.position
        raise TwimlError(Code.PARSE_FAILURE, f"not well-formed XML at line {line}, column {column}") from None
    if root.tag != "Response":
        raise TwimlError(Code.ROOT_NOT_RESPONSE, f"the root element is <{root.tag}>, not <Response>")
    return root


class _Walker:
    """Walks one document against a schema, collecting warnings; also the checks' `schema.Context`."""

    def __init__(self, root: schema.Spec, *, foreign: schema.Spec | None = None) -> None:
        self.known = schema.vocabulary(root)
        # Elements of the other dialect (voice verbs in a messaging reply) are skipped with 14110.
        self.foreign = schema.vocabulary(foreign) - self.known if foreign else frozenset()
        self.warnings: list[TwimlWarning] = []
        self.path = ""

    def warn(self, code: int, message: str) -> None:
        self.warnings.append(TwimlWarning(int(code), message))

    def element(self, el: ET.Element, spec: schema.Spec, parent: str) -> Any:
        path = f"{parent}/{spec.tag}" if parent else spec.tag
        self.path = path
        values: dict[str, Any] = {}
        for name, raw in el.attrib.items():
            self.attribute(spec, name, raw, values)

        loose = ((el.text or "") + "".join(child.tail or "" for child in el)).strip()
        if spec.flatten_markup and len(el):
            loose = " ".join("".join(el.itertext()).split())
            self.warn(Code.SCHEMA, f"{path}: SSML markup is spoken as plain text")
        elif len(el):
            self.children(el, spec, path, values)
        self.path = path
        if spec.make is None:  # Body, Media, Identity: the text is the value
            if spec.body_required and not loose:
                raise TwimlError(Code.SCHEMA, f"{path}: <{spec.tag}> needs text")
            return loose
        if loose:
            self.body(spec, loose, values)
        self.require(spec, values)
        if spec.check:
            spec.check(values, self)
        return spec.make(**values)

    def body(self, spec: schema.Spec, text: str, values: dict[str, Any]) -> None:
        if not (spec.body and spec.body_field):
            self.warn(Code.SCHEMA, f"{self.path}: text is not allowed here and was ignored")
        elif spec.body_field in values:
            message = f"{self.path}: give the {spec.body_field} as text or as an element, not both"
            raise TwimlError(Code.SCHEMA, message)
        else:
            values[spec.body_field] = self.value(spec.body, text, f"{self.path}: the text")

    def require(self, spec: schema.Spec, values: dict[str, Any]) -> None:
        for f in fields(spec.make) if spec.make else ():
            if f.name not in values and f.default is MISSING and f.default_factory is MISSING:
                code = spec.body.code if spec.body and f.name == spec.body_field else Code.SCHEMA
                what = "text" if f.name == spec.body_field else f"a {attribute_name(f.name)} attribute"
                raise TwimlError(code, f"{self.path}: <{spec.tag}> needs {what}")

    def attribute(self, spec: schema.Spec, name: str, raw: str, values: dict[str, Any]) -> None:
        field_name = spec.by_attribute.get(name)
        if field_name is None:
            why = "is not supported by Switchboard" if name in spec.unsupported_attrs else "is unknown"
            self.warn(Code.SCHEMA, f"{self.path}: attribute {name!r} {why} and was ignored")
            return
        values[field_name] = self.value(spec.attrs[field_name], raw, f"{self.path}: {name}")

    def value(self, attr: schema.Attr, raw: str, where: str) -> Any:
        """The parsed value; if invalid, the fallback (the default) with a warning, or if strict an error."""
        try:
            return attr.parse(raw)
        except ValueError as exc:
            shown = raw if len(raw) <= 40 else raw[:40] + "…"
            code, problem = getattr(exc, "code", attr.code), f"{where} must be {exc}, not {shown!r}"
            if attr.fallback is schema.STRICT:
                raise TwimlError(code, problem) from None
            self.warn(code, f"{problem}; {schema.using(attr.fallback)}")
            return attr.fallback

    def children(self, el: ET.Element, spec: schema.Spec, path: str, values: dict[str, Any]) -> None:
        collected: dict[str, list[Any]] = {}
        for child in el:
            tag = child.tag
            if tag in spec.children:
                child_spec, field_name = spec.children[tag]
                collected.setdefault(field_name, []).append(self.element(child, child_spec, path))
            elif tag in spec.unsupported_children or tag in schema.UNSUPPORTED_TAGS:
                self.warn(Code.SCHEMA, f"{path}: <{tag}> is not supported by Switchboard and was skipped")
            elif tag in self.known:
                raise TwimlError(spec.nested_code, f"{path}: <{tag}> is not allowed inside <{spec.tag}>")
            elif tag in self.foreign:
                self.warn(Code.MESSAGE_INVALID_VERB, f"{path}: <{tag}> is a voice verb and was skipped")
            else:
                self.warn(
                    Code.SCHEMA, f"{path}: unknown element <{tag}> was skipped (TwiML is case-sensitive)"
                )
        many = (
            {f.name for f in fields(spec.make) if f.metadata.get("twiml") == "children"} if spec.make else ()
        )
        for field_name, items in collected.items():
            if field_name in many:
                values[field_name] = tuple(items)
            elif len(items) > 1:
                raise TwimlError(
                    Code.SCHEMA, f"{path}: <{spec.tag}> takes one {field_name}, got {len(items)}"
                )
            else:
                values[field_name] = items[0]
