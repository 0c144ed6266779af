"""Fixtures the relay's tests share with streams' and voice's."""

from tests.streams.conftest import announce
from tests.voice.conftest import app
from tests.voice.test_call_flows import celery, lab, media_server, worker

__all__ = ["announce", "app", "celery", "lab", "media_server", "worker"]
