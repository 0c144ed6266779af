"""A caller who hangs up just as a command reaches Asterisk: ARI answers 404 (channel gone) or 409
("Channel not in Stasis application": it left the app); both read as CallHungUp, not a failure."""

import asyncio
from typing import Any

import pytest

from mediaserver.ari.client import AriError
from mediaserver.ari.router import EventRouter
from voice.ari_control import AriCallControl
from voice.control import CallHungUp


class GoneClient:
    def __init__(self, status: int) -> None:
        self.status = status

    async def play(self, channel_id: str, media: str, playback_id: str) -> Any:
        raise AriError(self.status, "Channel not in Stasis application")


@pytest.mark.parametrize("status", [404, 409])
def test_a_command_on_a_channel_that_left_reads_as_a_hangup(status: int) -> None:
    control = AriCallControl(GoneClient(status), EventRouter(lambda event: None), "chan-1")  # type: ignore[arg-type]
    with pytest.raises(CallHungUp):
        asyncio.run(control.play(["sound:hold"], interruptible=False))
    assert control.is_gone


def test_other_refusals_still_fail() -> None:
    control = AriCallControl(GoneClient(500), EventRouter(lambda event: None), "chan-1")  # type: ignore[arg-type]
    with pytest.raises(AriError):
        asyncio.run(control.play(["sound:hold"], interruptible=False))
