"""The offline text-to-speech: espeak-ng (a Debian package), read as it speaks.

espeak-ng writes its WAV to stdout while it synthesises (the first 4 KB of a long paragraph come
within about 10 ms here), so each piece is resampled and handed on at once, and playback starts
long before the sentence is done. The text goes in on stdin, never as an argument, so a text that
starts with "-" cannot turn into an option. A consumer that stops listening (barge-in) kills the
process.
"""

import asyncio
import functools
import struct
import subprocess
from collections.abc import AsyncIterator

from ai.speech.audio import StreamResampler
from ai.speech.base import SAMPLE_RATE, SpeechError

ESPEAK = "espeak-ng"
WORDS_PER_MINUTE = 160
READ_BYTES = 4096
_WAV_HEADER = 44  # espeak-ng's canonical RIFF header (PCM, one data chunk, length unknown)
# espeak-ng's voice variants (espeak-ng --voices=variant); a ConversationRelay voice naming one picks it.
_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt")


@functools.cache
def installed_voices() -> frozenset[str]:
    """The language names espeak-ng knows (`en-us`, `es`, `pt-br`, ...), read once per process."""
    listing = subprocess.run([ESPEAK, "--voices"], capture_output=True, text=True, check=True).stdout
    return frozenset(line.split()[1].lower() for line in listing.splitlines()[1:] if len(line.split()) > 1)


def espeak_voice(*, voice: str, language: str) -> str:
    """ConversationRelay's `language` (a BCP-47 tag such as en-US) to an espeak-ng voice: the whole
    tag if espeak-ng has it (en-us, pt-br), else its language (es-ES -> es), else US English. A
    `voice` naming an espeak-ng variant (f3, m1, klatt) is applied; other providers' voice names
    (Polly.Joanna, en-US-Neural2-F) mean nothing here and are ignored."""
    tag = language.strip().lower().replace("_", "-")
    known = installed_voices()
    name = tag if tag in known else tag.split("-")[0] if tag.split("-")[0] in known else "en-us"
    variant = voice.strip().lower()
    return f"{name}+{variant}" if variant in _VARIANTS else name


class EspeakTextToSpeech:
    name = "espeak"

    def __init__(self, *, words_per_minute: int = WORDS_PER_MINUTE) -> None:
        self.words_per_minute = words_per_minute

    async def synthesize(self, text: str, *, voice: str, language: str) -> AsyncIterator[bytes]:
        if not text.strip():
            return
        args = [ESPEAK, "--stdout", "-v", espeak_voice(voice=voice, language=language)]
        process = await asyncio.create_subprocess_exec(
            *args,
            "-s",
            str(self.words_per_minute),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        assert process.stdin and process.stdout
        try:
            process.stdin.write(text.encode())
            process.stdin.close()
            header = await process.stdout.readexactly(_WAV_HEADER)
            if header[:4] != b"RIFF":
                raise SpeechError("espeak-ng wrote no WAV")
            resampler = StreamResampler(
                from_rate=struct.unpack_from("<I", header, 24)[0], to_rate=SAMPLE_RATE
            )
            while chunk := await process.stdout.read(READ_BYTES):
                if out := resampler.feed(chunk):
                    yield out
            if tail := resampler.feed(b"", last=True):
                yield tail
            if await process.wait() != 0:
                raise SpeechError(f"espeak-ng exited with {process.returncode}")
        except asyncio.IncompleteReadError as error:
            raise SpeechError("espeak-ng stopped before any audio") from error
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
