"""Fixtures the contact center's tests share with messaging's and voice's: `live` (a committed tenant
with a number), `app` (the tenant's HTTP app), and `lab` (real calls: Asterisk, the ARI worker)."""

from tests.messaging.conftest import app, live
from tests.voice.test_call_flows import celery, lab, media_server, worker

__all__ = ["app", "celery", "lab", "live", "media_server", "worker"]
