"""Fixtures streams' tests share with voice's: `app` (the tenant's TwiML app), `lab` (real calls:
Asterisk, the ARI worker), and a media bridge's announcement in Redis."""

import json
import time
from collections.abc import Callable, Iterator

import pytest

from streams import bridges, contract
from tests.voice.conftest import app
from tests.voice.test_call_flows import celery, lab, media_server, worker

__all__ = ["announce", "app", "celery", "lab", "media_server", "worker"]


@pytest.fixture
def announce() -> Iterator[Callable[..., None]]:
    """Announce a bridge in `bridges_key()` as a live one does (`seen` seconds ago), listening on its
    command channel unless `listening=False` (a killed bridge's); all gone after the test."""
    client = bridges._redis()
    client.delete(contract.bridges_key())
    listener = client.pubsub()

    def bridge(
        bridge_id: str,
        port: int,
        *,
        streams: int = 0,
        seen: float = 0.0,
        host: str = "127.0.0.1",
        listening: bool = True,
    ) -> None:
        info = contract.BridgeInfo(host=host, port=port, streams=streams, seen=time.time() - seen)
        if listening:
            listener.subscribe(contract.commands_channel(bridge_id))
        client.hset(contract.bridges_key(), bridge_id, json.dumps(info))

    yield bridge
    listener.close()
    client.delete(contract.bridges_key())
