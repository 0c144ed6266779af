"""Document-level rules: size, encoding, well-formedness, the root element, and refusing DTDs."""

import time

import pytest

from twiml.errors import Code, TwimlError
from twiml.parser import MAX_DOCUMENT_BYTES, parse_messaging, parse_voice
from twiml.verbs import Response, Say

CAFE = Response((Say("café"),))


def padded(size: int) -> bytes:
    """A valid document of exactly `size` bytes: the padding is a comment."""
    head, tail = b"<Response><Say>caf\xc3\xa9</Say><!--", b"--></Response>"
    return head + b"x" * (size - len(head) - len(tail)) + tail


def raised_code(document: str | bytes) -> int:
    with pytest.raises(TwimlError) as raised:
        parse_voice(document)
    return raised.value.code


def test_document_of_exactly_64_kib_is_accepted() -> None:
    assert parse_voice(padded(MAX_DOCUMENT_BYTES)).response == CAFE


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(padded(MAX_DOCUMENT_BYTES + 1), id="bytes"),
        # 32,768 "é" are 65,536 bytes of UTF-8: the limit counts bytes, not characters.
        pytest.param("<Response><!--" + "é" * 32_768 + "--></Response>", id="str-counted-in-utf8-bytes"),
    ],
)
def test_document_over_64_kib_is_refused(document: str | bytes) -> None:
    assert raised_code(document) == Code.RESPONSE_TOO_LARGE


@pytest.mark.parametrize(
    "document",
    [
        pytest.param("<Response><Say>café</Say></Response>", id="str"),
        pytest.param("<Response><Say>café</Say></Response>".encode(), id="utf8-bytes"),
        pytest.param(b"\xef\xbb\xbf<Response><Say>caf\xc3\xa9</Say></Response>", id="utf8-bom"),
        pytest.param(
            '<?xml version="1.0" encoding="utf-8"?><Response><Say>café</Say></Response>', id="declared"
        ),
        pytest.param(
            "<Response>\n  <Say>\n    caf&#233;\n  </Say>\n</Response>\n", id="pretty-printed-char-ref"
        ),
    ],
)
def test_utf8_documents_are_accepted(document: str | bytes) -> None:
    assert parse_voice(document).response == CAFE


@pytest.mark.parametrize(
    "document",
    [
        pytest.param("<Response><Say>café</Say></Response>".encode("latin-1"), id="latin-1-bytes"),
        pytest.param("<Response><Say>café</Say></Response>".encode("utf-16"), id="utf-16-bytes"),
        pytest.param("<Response><Say>\ud800</Say></Response>", id="lone-surrogate"),
        pytest.param(
            '<?xml version="1.0" encoding="ISO-8859-1"?><Response><Say>cafe</Say></Response>',
            id="declared-latin-1",
        ),
        pytest.param("", id="empty"),
        pytest.param("  \n", id="blank"),
        pytest.param("Hello, caller", id="not-xml"),
        pytest.param("<Response><Say>Hi</Response>", id="unclosed"),
        pytest.param("<Response><Say>Tom & Jerry</Say></Response>", id="bare-ampersand"),
        pytest.param("<Response><Say>&nbsp;</Say></Response>", id="html-entity"),
        pytest.param("<Response/><Response/>", id="two-roots"),
    ],
)
def test_unparseable_documents_are_refused(document: str | bytes) -> None:
    assert raised_code(document) == Code.PARSE_FAILURE


@pytest.mark.parametrize("document", ["<Foo/>", "<response/>", '<Response xmlns="urn:x"/>', "<Say>Hi</Say>"])
def test_root_must_be_response(document: str) -> None:
    assert raised_code(document) == Code.ROOT_NOT_RESPONSE


def test_messaging_applies_the_same_document_rules() -> None:
    with pytest.raises(TwimlError) as raised:
        parse_messaging("<Message>hi</Message>")
    assert raised.value.code == Code.ROOT_NOT_RESPONSE


def _laughs(n: int) -> str:
    previous = f"lol{n - 1}" if n > 1 else "lol"
    return f'<!ENTITY lol{n} "{f"&{previous};" * 10}">'


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(_laughs(n) for n in range(1, 10))
    + "]><Response><Say>&lol9;</Say></Response>"
)


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(BILLION_LAUGHS, id="billion-laughs"),
        pytest.param(
            '<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Response><Say>&xxe;</Say></Response>',
            id="external-entity",
        ),
        pytest.param('<!DOCTYPE Response SYSTEM "http://evil.example/t.dtd"><Response/>', id="external-dtd"),
        pytest.param("<!DOCTYPE Response><Response/>", id="bare-doctype"),
        pytest.param("<!doctype Response><Response/>", id="lower-case"),
        pytest.param("<Response><Say>&xxe;</Say></Response>", id="undeclared-entity"),
    ],
)
def test_dtds_and_entities_are_refused_quickly(document: str) -> None:
    started = time.monotonic()
    assert raised_code(document) == Code.PARSE_FAILURE
    assert time.monotonic() - started < 0.5
