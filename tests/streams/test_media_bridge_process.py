"""`manage.py media_bridge` as the Procfile runs it: it announces itself in `bridges_key()`, carries a stream,
follows the worker's commands, and on SIGTERM says `stop` to every app and withdraws."""

import asyncio
import json
import signal
import time

import pytest
import redis.asyncio as aioredis
from django.conf import settings

from streams.contract import Dtmf, bridges_key, commands_channel
from tests.live import media_bridge
from tests.streams.harness import app, leg, place, tone

pytestmark = pytest.mark.e2e
SID = "MZ00000000000000000000000000000001"


def test_the_bridge_process_announces_itself_carries_a_stream_and_stops_it_on_sigterm(
    django_db_setup: None,
) -> None:
    with media_bridge() as process:

        async def scenario() -> None:
            client = aioredis.from_url(settings.REDIS_URL)
            announced = {
                key.decode(): json.loads(raw) for key, raw in (await client.hgetall(bridges_key())).items()
            }
            ((bridge_id, info),) = [(k, v) for k, v in announced.items() if v["port"] == process.port]
            assert info["host"] == "127.0.0.1" and time.time() - info["seen"] < 3

            async with app() as (url, sockets):
                asterisk = await place(process.port, leg(url), tone(2.0))
                while not sockets:
                    await asyncio.sleep(0.01)
                (heard,) = sockets
                await heard.until(lambda: len(heard.events("media")) >= 5)
                assert json.loads((await client.hget(bridges_key(), bridge_id)) or "{}")["streams"] in (
                    0,
                    1,
                )  # counted at the next heartbeat
                command = Dtmf(op="dtmf", stream_sid=SID, digit="5")
                await client.publish(commands_channel(bridge_id), json.dumps(command))
                await heard.until(lambda: bool(heard.events("dtmf")))
                assert process.process is not None
                process.process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(heard.closed.wait(), 10)
                await asyncio.wait_for(asterisk.ended.wait(), 10)
                await asterisk.close()
                assert await asyncio.to_thread(process.process.wait, 10) == 0
            assert heard.events("dtmf")[0]["dtmf"] == {"track": "inbound_track", "digit": "5"}
            assert heard.events()[-1]["event"] == "stop"
            assert await client.hget(bridges_key(), bridge_id) is None
            await client.aclose()

        asyncio.run(scenario())
