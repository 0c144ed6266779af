"""Prompts as files Asterisk can play: Say rendered offline by espeak-ng, Play URLs fetched once, and
the platform's own hold music, generated here rather than fetched from anywhere.

All land as 8 kHz mono 16-bit WAV in the media server's sounds folder (`sounds/switchboard/…`),
named by a digest of what produced them, so a prompt is rendered or downloaded once and then played
from local disk by every call.
"""

import asyncio
import hashlib
import logging
import math
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from core import egress
from core.error_codes import ErrorCode
from mediaserver.sounds import HOLD_MUSIC, platform_sound

log = logging.getLogger(__name__)

SOX = shutil.which("sox") or "/usr/bin/sox"
ESPEAK = shutil.which("espeak-ng") or "/usr/bin/espeak-ng"
ESPEAK_VOICES = {"man": "en-us", "woman": "en-us+f3", "alice": "en-us+f2"}
MAX_PLAY_BYTES = 50 * 1024 * 1024
PLAY_FETCH_SECONDS = 60.0  # a whole media file, redirects included
# The longest a prompt plays: a few MB of compressed silence decode to hours, and converted whole they
# filled the media server's disk and held a CPU for minutes. An hour is 57.6 MB of telephony WAV.
MAX_PLAY_SECONDS = 3600
CONVERT_SECONDS = 60
# A slow arpeggio (C, Am, F, G; each chord twice, each note 0.4 s): 13 s that loop without a seam.
HOLD_CHORDS = ((262, 330, 392, 523), (220, 262, 330, 440), (175, 220, 262, 349), (196, 247, 294, 392))
HOLD_NOTE_SECONDS = 0.4
RATE = 8000
# The suffix a fetched file is given tells SoX its format; only audio ones are kept (else `.wav`, and
# SoX reads the header). A `.m3u` or `.pls` would make SoX a playlist reader, opening each entry as a
# local file or, for an http URL, through `wget` in a shell, where `$(…)` in the entry runs.
AUDIO_SUFFIXES = frozenset({".wav", ".mp3", ".aif", ".aiff", ".aifc", ".au", ".snd", ".gsm", ".ogg", ".flac"})


class MediaError(Exception):
    """A prompt could not be produced; `code` is Twilio's error for it."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


def _to_telephony_wav(source: Path, target: Path) -> None:
    """`source` as 8 kHz mono 16-bit WAV, its first MAX_PLAY_SECONDS (SoX stops reading there);
    subprocess.CalledProcessError or TimeoutExpired, leaving nothing behind."""
    tmp = target.with_suffix(".part.wav")
    telephony = ["-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer"]
    try:
        subprocess.run(
            [SOX, str(source), *telephony, str(tmp), "trim", "0", str(MAX_PLAY_SECONDS)],
            check=True,
            capture_output=True,
            timeout=CONVERT_SECONDS,
        )
        tmp.replace(target)  # atomic: a concurrent call never plays a half-written file
    finally:
        tmp.unlink(missing_ok=True)


class MediaCache:
    def __init__(self, sounds_dir: str, http: httpx.AsyncClient) -> None:
        """`http` fetches tenants' media: an `egress.async_client`, in the worker."""
        self.root = Path(sounds_dir)
        self.http = http
        for folder in ("tts", "play", "hold"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)

    async def say(self, text: str, *, voice: str, language: str) -> str:
        name = _digest(voice, language, text)
        target = self.root / "tts" / f"{name}.wav"
        if not target.exists():
            await asyncio.to_thread(self._render, text, ESPEAK_VOICES.get(voice, "en-us"), target)
        return platform_sound(f"tts/{name}")

    @staticmethod
    def _render(text: str, espeak_voice: str, target: Path) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "speech.wav"
            subprocess.run(
                [ESPEAK, "-v", espeak_voice, "-s", "160", "-w", str(raw), "--", text],  # words, not an option
                check=True,
                capture_output=True,
                timeout=60,
            )
            _to_telephony_wav(raw, target)

    async def hold_music(self) -> str:
        """What a caller waiting with no music of the tenant's hears: made once per media server, then
        looped by Asterisk from its own disk."""
        target = self.root / f"{HOLD_MUSIC}.wav"
        if not target.exists():
            await asyncio.to_thread(self._compose_hold_music, target)
        return platform_sound(HOLD_MUSIC)

    @staticmethod
    def _compose_hold_music(target: Path) -> None:
        frames = bytearray()
        per_note = int(RATE * HOLD_NOTE_SECONDS)
        for chord in HOLD_CHORDS:
            for _ in range(2):
                for frequency in chord:
                    for i in range(per_note):
                        envelope = min(1.0, i / 200, (per_note - i) / 800)  # no clicks between notes
                        sample = 0.12 * envelope * math.sin(2 * math.pi * frequency * i / RATE)
                        frames += int(32767 * sample).to_bytes(2, "little", signed=True)
        tmp = target.with_suffix(".part.wav")
        with wave.open(str(tmp), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(RATE)
            out.writeframes(bytes(frames))
        tmp.replace(target)

    async def play(self, url: str) -> str:
        """The sound Asterisk plays for `url` (fetched and converted once)."""
        return platform_sound(f"play/{(await self.play_file(url)).stem}")

    async def play_file(self, url: str) -> Path:
        """`url` fetched through the destination policy, as an 8 kHz mono 16-bit WAV file; MediaError."""
        target = self.root / "play" / f"{_digest(url)}.wav"
        if not target.exists():
            try:
                fetched = await egress.fetch_async(
                    self.http, "GET", url, deadline_s=PLAY_FETCH_SECONDS, max_bytes=MAX_PLAY_BYTES,
                    follow_redirects=True,
                )  # fmt: skip
            except httpx.HTTPError as exc:
                code, reason = egress.failure(exc, url)
                raise MediaError(code, f"Could not fetch {url}: {reason}") from exc
            except (httpx.InvalidURL, ValueError) as exc:
                raise MediaError(ErrorCode.INVALID_URL_FORMAT, f"{url} is not a valid URL") from exc
            if fetched.response.status_code >= 400:
                raise MediaError(
                    ErrorCode.HTTP_RETRIEVAL_FAILURE,
                    f"Fetching {url} returned HTTP {fetched.response.status_code}",
                )
            if len(fetched.body) > MAX_PLAY_BYTES:
                raise MediaError(ErrorCode.MEDIA_EXCEEDS_SIZE_LIMIT, f"Media at {url} is too large")
            await asyncio.to_thread(self._store, fetched.body, target, url)
        return target

    @staticmethod
    def _store(content: bytes, target: Path, url: str) -> None:
        suffix = Path(urlsplit(url).path).suffix.lower()
        with tempfile.NamedTemporaryFile(suffix=suffix if suffix in AUDIO_SUFFIXES else ".wav") as source:
            source.write(content)
            source.flush()
            try:
                _to_telephony_wav(Path(source.name), target)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                raise MediaError(
                    ErrorCode.PLAY_INVALID_CONTENT_TYPE, f"Media at {url} is not audio this platform can play"
                ) from exc
