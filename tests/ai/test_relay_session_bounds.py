"""What one tenant's ConversationRelay app can make the speech relay, a process every tenant's sessions
share, hold or do: a `play`'s memory while the file waits and plays, whatever its `loop` (up to 100)
and however many are queued; the time a `text` message of many words takes to cut into clauses."""

import asyncio
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from ai.relay import messages
from ai.relay.session import LONG_CLAUSE_CHARS, PLAY_PIECE_BYTES, RelaySession
from tests.ai.test_relay_session import session
from tests.voice.test_call_flows import _tone_wav


class _Media:
    """A MediaCache whose every source is one WAV file already fetched."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def play_file(self, url: str) -> Path:
        return self.path


def _relay(media: Any = None) -> RelaySession:
    """A session whose bridge and engines are never reached: only queueing is exercised."""
    nothing: Any = None
    return RelaySession(
        session(), stream_sid="MZ" + "0" * 32, bridge=nothing, engines=nothing, media=media, connect_timeout=1
    )


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


@pytest.mark.parametrize("words", ["word " * 200_000, "x" * 1_000_000])
def test_a_megabyte_of_text_is_cut_into_clauses_in_linear_time(words: str) -> None:
    """Cutting re-searched and re-copied the rest of the text for every clause: a megabyte held the
    relay's event loop, every session on it, for 40 s. A word longer than a clause is cut too."""

    async def say() -> list[str]:
        relay = _relay()
        began = time.monotonic()
        await relay._on_text(messages.Text(words, False, None, "none"))
        assert time.monotonic() - began < 2
        queued = [relay._queue.get_nowait().clause.text for _ in range(relay._queue.qsize())]
        return [*queued, relay._tokens]

    clauses = asyncio.run(say())
    assert "".join(clauses).replace(" ", "") == words.replace(" ", "")  # queued clauses are stripped
    assert max(len(clause) for clause in clauses) <= LONG_CLAUSE_CHARS


def test_a_sessions_plays_are_fetched_one_at_a_time_in_the_order_sent(tmp_path: Path) -> None:
    """Each fetch holds up to 50 MB: an app sending plays by the hundred fetched them all at once."""
    wav = tmp_path / "tone.wav"
    wav.write_bytes(_tone_wav(0.1))

    class SlowMedia(_Media):
        fetching = most = 0

        async def play_file(self, url: str) -> Path:
            self.fetching += 1
            self.most = max(self.most, self.fetching)
            await asyncio.sleep(0.05 if url.endswith("0") else 0.01)
            self.fetching -= 1
            return self.path

    async def plays() -> tuple[int, list[Any]]:
        media = SlowMedia(wav)
        relay = _relay(media)
        sent = [messages.Play(f"https://example.com/{n}", loop=n + 1, interruptible=None) for n in range(10)]
        await asyncio.gather(*(relay._play(play) for play in sent))
        return media.most, [relay._queue.get_nowait().audio for _ in range(10)]

    most, queued = asyncio.run(plays())
    assert most == 1
    assert [len(list(audio)) for audio in queued] == [n + 1 for n in range(10)]  # in the order sent
