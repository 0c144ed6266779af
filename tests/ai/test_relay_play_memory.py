"""A ConversationRelay `play` on the speech relay, a process every tenant's sessions share: what it
holds in memory while the file waits and plays, whatever its `loop` (up to 100) and however many are
queued."""

import asyncio
import tracemalloc
from pathlib import Path
from typing import Any

from ai.relay import messages
from ai.relay.session import PLAY_PIECE_BYTES, RelaySession
from tests.ai.test_relay_session import session
from tests.voice.test_call_flows import _tone_wav


class _Media:
    """A MediaCache whose every source is one WAV file already fetched."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def play_file(self, url: str) -> Path:
        return self.path


def test_a_looped_play_is_not_held_whole_in_memory(tmp_path: Path) -> None:
    wav = tmp_path / "ten-seconds.wav"
    wav.write_bytes(_tone_wav(10.0))  # 80 kB of μ-law; looped 100 times, 8 MB

    async def queue_plays() -> tuple[int, list[bytes]]:
        media: Any = _Media(wav)
        nothing: Any = None  # neither the bridge nor the engines are reached by queueing a play
        relay = RelaySession(
            session(),
            stream_sid="MZ" + "0" * 32,
            bridge=nothing,
            engines=nothing,
            media=media,
            connect_timeout=1,
        )
        tracemalloc.start()
        try:
            for _ in range(5):
                await relay._play(messages.Play("https://example.com/a.wav", loop=100, interruptible=None))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        first = relay._queue.get_nowait().audio
        assert first is not None
        return peak, list(first)

    peak, pieces = asyncio.run(queue_plays())
    assert peak < 1_000_000  # five plays of 8 MB each were 40 MB
    assert len(pieces) == 1000 and all(len(piece) == PLAY_PIECE_BYTES for piece in pieces)
