"""The tenant's TwiML app for the interpreter's tests on an in-memory call (tests/voice/memory.py)."""

from collections.abc import Iterator
from typing import Any

import pytest

from tests.voice.twiml_app import TwimlApp


@pytest.fixture
def app(settings: Any) -> Iterator[TwimlApp]:
    """The tenant's app, the one private address the policy admits here."""
    settings.EGRESS_ALLOW = ["127.0.0.2/32"]
    with TwimlApp(host="127.0.0.2") as running:
        yield running
