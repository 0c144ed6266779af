"""The ARI worker's adoption of calls that arrived unseen, on a worker whose ARI client is stubbed:
a call is started once, whichever of its adoption and its late StasisStart comes first.
(tests/voice/test_call_flows.py adopts a real one through Asterisk.)"""

import asyncio
from pathlib import Path
from typing import Any

from voice.models import MediaServer
from voice.worker import VoiceWorker

CHANNEL = {"id": "1796577090.38", "dialplan": {"app_data": "switchboard-x,inbound"}}


def _worker(tmp_path: Path) -> tuple[VoiceWorker, list[str]]:
    server = MediaServer(name="x", ari_url="http://127.0.0.1:9/ari", ari_username="u")
    server.sounds_dir = str(tmp_path)
    server.set_ari_password("p")
    worker = VoiceWorker(server, app="switchboard-x")
    started: list[str] = []

    def spawn(channel_id: str, work: Any) -> None:
        started.append(channel_id)
        work.close()  # the call itself is not what is tested here

    async def channel(method: str, path: str, **options: Any) -> dict[str, Any]:
        return CHANNEL

    worker.spawn = spawn  # type: ignore[method-assign]
    worker.client.request = channel  # type: ignore[method-assign]
    return worker, started


def test_an_adopted_call_is_not_started_again_by_its_late_stasis_start(tmp_path: Path) -> None:
    worker, started = _worker(tmp_path)
    assert asyncio.run(worker._adopt(CHANNEL["id"]))
    worker._on_new_channel({"type": "StasisStart", "channel": CHANNEL, "args": ["inbound"]})
    assert started == [CHANNEL["id"]]


def test_a_call_whose_stasis_start_came_while_adopting_is_not_adopted_again(tmp_path: Path) -> None:
    worker, started = _worker(tmp_path)
    worker._on_new_channel({"type": "StasisStart", "channel": CHANNEL, "args": ["inbound"]})
    assert asyncio.run(worker._adopt(CHANNEL["id"]))  # running: nothing to hang up
    assert started == [CHANNEL["id"]]
