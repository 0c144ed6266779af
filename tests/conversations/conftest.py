"""Fixtures for conversation tests: Celery tasks run inline, recordings in a temporary folder."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config.celery import app


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.fixture(autouse=True)
def _recordings_dir(settings: Any, tmp_path: Path) -> None:
    settings.RECORDINGS_DIR = tmp_path / "recordings"
