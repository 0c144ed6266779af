"""A recognizer for a vendor that recognises recordings rather than streams (Google's REST, OpenAI's
transcriptions): it keeps the turn's audio and sends it whole when the turn ends. The relay makes a
recognizer per caller turn and calls `finish()` when its VAD ends the turn, so the text comes a round
trip and a recognition after the turn instead of as the caller speaks."""

from collections.abc import Awaitable, Callable


class WholeTurnRecognizer:
    def __init__(self, recognize: Callable[[bytes], Awaitable[str]]) -> None:
        """`recognize` takes a turn's slin and answers its text."""
        self._recognize = recognize
        self._audio = bytearray()

    async def feed(self, pcm: bytes) -> None:
        self._audio += pcm

    async def finish(self) -> str:
        """The turn's text; a turn with no audio asks the vendor nothing."""
        audio, self._audio = bytes(self._audio), bytearray()
        return await self._recognize(audio) if audio else ""

    async def close(self) -> None:
        self._audio.clear()
