"""A bidirectional stream's playout: the app's audio and marks queued in arrival order, sent to
Asterisk one 20 ms frame at a time on an absolute clock.

Apps send audio in any size and mostly faster than real time (Pipecat at twice real time, a 2 s
payload at once), so it is queued as bytes and cut into frames as it plays. A mark is echoed once
the audio queued before it has played: the frame carrying its last byte was sent a tick earlier.
The queue holds at most `max_seconds` of audio, and MAX_MARKS marks; more is dropped (and the caller
told, once).
"""

import asyncio
import contextlib
import json
from collections import Counter, deque
from collections.abc import Callable

from core.timeouts import within
from streams.bridge.codec import FRAME_MS, SAMPLE_RATE, ULAW_FRAME_BYTES, ULAW_SILENCE

FRAME_SECONDS = FRAME_MS / 1000
MAX_SECONDS = 60
MAX_MARKS = MAX_SECONDS * 1000 // FRAME_MS  # waiting to play: one a frame of what the queue can hold
JITTER_FRAMES = 2  # playout from silence starts once this much is queued, or a frame's time has passed
CATCH_UP_FRAMES = 5  # after the loop stalled this long or less, the frames due go at once
_COMPACT_BYTES = 64 * 1024


class Lateness:
    """How late frames left against their tick, in whole milliseconds (a histogram: constant memory
    however long the call), for the stream's closing log line and bench/media."""

    def __init__(self) -> None:
        self.counts: Counter[int] = Counter()

    def record(self, seconds: float) -> None:
        self.counts[min(int(seconds * 1000), 1000)] += 1

    def __str__(self) -> str:
        return json.dumps(dict(sorted(self.counts.items())), separators=(",", ":"))


class Playout:
    """Mu-law audio and marks waiting to play. Positions count bytes since the stream began."""

    def __init__(self, *, max_seconds: float = MAX_SECONDS) -> None:
        self.max_bytes = int(max_seconds * SAMPLE_RATE)
        self._audio = bytearray()
        self._read = 0  # where the next frame starts in _audio
        self._queued = 0  # bytes ever queued: a new mark's position
        self._sent = 0  # bytes ever taken to play
        self._marks: deque[tuple[int, str]] = deque()
        self.changed = asyncio.Event()
        self.lateness = Lateness()

    @property
    def buffered(self) -> int:
        return len(self._audio) - self._read

    @property
    def has_marks(self) -> bool:
        return bool(self._marks)

    @property
    def is_idle(self) -> bool:
        return not self.buffered and not self._marks

    def push(self, ulaw: bytes) -> int:
        """Queue audio; returns how many bytes did not fit under the cap and were dropped."""
        room = max(self.max_bytes - self.buffered, 0)
        kept = ulaw[:room]
        self._audio += kept
        self._queued += len(kept)
        self.changed.set()
        return len(ulaw) - len(kept)

    def mark(self, name: str) -> bool:
        """Queue a mark; False when MAX_MARKS wait already (an app sending marks faster than its audio
        plays would otherwise grow them without end), and it is dropped."""
        if len(self._marks) >= MAX_MARKS:
            return False
        self._marks.append((self._queued, name))
        self.changed.set()
        return True

    def clear(self) -> list[str]:
        """Drop the queued audio; every pending mark, to echo now."""
        names = [name for _, name in self._marks]
        self._marks.clear()
        self._audio.clear()
        self._read = 0
        self._queued = self._sent
        self.changed.set()
        return names

    def tick(self) -> tuple[list[str], bytes | None]:
        """At a frame boundary: the marks whose audio has now played, and the next frame (padded with
        silence at the end of the queue), or None when nothing is left to play."""
        due = []
        while self._marks and self._marks[0][0] <= self._sent:
            due.append(self._marks.popleft()[1])
        if not self.buffered:
            return due, None
        frame = bytes(self._audio[self._read : self._read + ULAW_FRAME_BYTES])
        self._read += len(frame)
        self._sent += len(frame)
        if self._read >= _COMPACT_BYTES:
            del self._audio[: self._read]
            self._read = 0
        return due, frame.ljust(ULAW_FRAME_BYTES, ULAW_SILENCE)


async def play(playout: Playout, send: Callable[[bytes], None], echo: Callable[[str], None]) -> None:
    """Forever: wait for audio or marks, then tick every 20 ms on a grid fixed when playout began, until
    the queue is empty again: a late wake-up sends the frames due at once rather than pushing every
    later frame back (which would add the stall to the call's latency for good), unless it was so
    long that a burst would overflow Asterisk's buffers. `send` gets each mu-law frame, `echo` each
    mark's name."""
    loop = asyncio.get_running_loop()
    while True:
        while playout.is_idle:
            playout.changed.clear()
            await playout.changed.wait()
        # A small jitter buffer: an app sending in real time gets one frame of slack.
        deadline = loop.time() + FRAME_SECONDS
        while playout.buffered < JITTER_FRAMES * ULAW_FRAME_BYTES and not playout.has_marks:
            playout.changed.clear()
            with contextlib.suppress(TimeoutError):
                await within(playout.changed.wait(), deadline - loop.time())
            if loop.time() >= deadline:
                break
        origin, ticks = loop.time(), 0
        while True:
            marks, frame = playout.tick()
            for name in marks:
                echo(name)
            if frame is None:
                break
            send(frame)
            playout.lateness.record(loop.time() - origin - ticks * FRAME_SECONDS)
            ticks += 1
            delay = origin + ticks * FRAME_SECONDS - loop.time()
            if delay < -CATCH_UP_FRAMES * FRAME_SECONDS:  # a long stall: a new grid, not a long burst
                origin, ticks = loop.time(), 0
            elif delay > 0:
                await asyncio.sleep(delay)
            # else a short stall: the frames it delayed go now, so the delay does not add up over a call
