"""Fixtures for conversation tests: Celery tasks run inline, recordings in a temporary folder."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config.celery import app
from voice.models import MediaServer


@pytest.fixture
def eager_tasks(db: None) -> Iterator[None]:
    """Tasks run inline; with no media server enabled (in this test's transaction only), placing a
    call fails at once without touching the network."""
    MediaServer.objects.update(is_enabled=False)
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture(autouse=True)
def _recordings_dir(settings: Any, tmp_path: Path) -> None:
    settings.RECORDINGS_DIR = tmp_path / "recordings"
