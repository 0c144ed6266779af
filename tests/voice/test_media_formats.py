"""What <Play> (and ConversationRelay's `play`) accepts besides WAV: MP3, the format most Twilio apps
and Twilio's own samples host their audio in, made 8 kHz mono for Asterisk like every played file."""

import asyncio
import subprocess
import wave
from pathlib import Path
from typing import Any

import pytest

from core import egress
from core.error_codes import ErrorCode
from tests.voice.audio import has_tone
from tests.voice.twiml_app import TwimlApp
from voice import media
from voice.media import MediaCache, MediaError


def _tone(tmp_path: Path, name: str, hz: int) -> bytes:
    path = tmp_path / name
    subprocess.run(
        ["sox", "-n", "-r", "44100", "-c", "2", str(path), "synth", "1", "sine", str(hz)], check=True
    )
    return path.read_bytes()


def _fetch(tmp_path: Path, url: str) -> Path:
    async def fetch() -> Path:
        async with egress.async_client(timeout=5) as http:
            return await MediaCache(str(tmp_path / "sounds"), http).play_file(url)

    return asyncio.run(fetch())


def test_an_mp3_plays_as_8_khz_mono(settings: Any, tmp_path: Path) -> None:
    settings.EGRESS_ALLOW = ["127.0.0.1/32"]
    mp3 = _tone(tmp_path, "tone.mp3", 440)
    assert mp3[:3] == b"ID3" or mp3[0] == 0xFF  # an MPEG audio file, not a WAV renamed
    with TwimlApp() as app:
        app.routes["/hold.mp3"] = lambda form: (200, "audio/mpeg", mp3)
        played = _fetch(tmp_path, f"{app.url}/hold.mp3")
    with wave.open(str(played)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        frames = wav.readframes(wav.getnframes())
    samples = [int.from_bytes(frames[i : i + 2], "little", signed=True) for i in range(0, len(frames), 2)]
    assert len(samples) >= 7000  # about the second it lasts
    assert has_tone(samples[1000:1160], 440)


def test_what_is_not_audio_is_refused_with_twilios_code(settings: Any, tmp_path: Path) -> None:
    settings.EGRESS_ALLOW = ["127.0.0.1/32"]
    with TwimlApp() as app:
        app.routes["/song.mp3"] = lambda form: (200, "audio/mpeg", b"<html>not found</html>")
        with pytest.raises(MediaError) as refused:
            _fetch(tmp_path, f"{app.url}/song.mp3")
    assert refused.value.code == ErrorCode.PLAY_INVALID_CONTENT_TYPE


@pytest.mark.parametrize(("suffix", "entry"), [(".m3u", "{url}"), (".PLS", "[playlist]\nFile1={url}")])
def test_a_playlist_is_not_followed(settings: Any, tmp_path: Path, suffix: str, entry: str) -> None:
    """SoX reads a `.m3u` or `.pls` input as a playlist and opens each entry: a local file, or an
    http URL through `wget` in a shell (so `$(…)` in it runs). The URL's suffix must not pick that."""
    settings.EGRESS_ALLOW = ["127.0.0.1/32"]
    marker = tmp_path / "ran"
    playlist = (entry.format(url=f"http://127.0.0.1:9/$(touch {marker})") + "\n").encode()
    with TwimlApp() as app:
        app.routes[f"/list{suffix}"] = lambda form: (200, "audio/x-mpegurl", playlist)
        with pytest.raises(MediaError) as refused:
            _fetch(tmp_path, f"{app.url}/list{suffix}")
    assert not marker.exists()
    assert refused.value.code == ErrorCode.PLAY_INVALID_CONTENT_TYPE


def test_say_speaks_text_that_looks_like_an_option(tmp_path: Path) -> None:
    """<Say>'s text is the words, never an espeak-ng option: `-f<path>` would read a file of the worker
    (its /proc/self/environ holds the platform's secrets) to the caller."""
    secret = tmp_path / "secret.txt"
    secret.write_text("the platform secret " * 200)
    spoken, option = "dash f", f"-f{secret}"

    async def say(text: str) -> int:
        async with egress.async_client(timeout=5) as http:
            cache = MediaCache(str(tmp_path / "sounds"), http)
            name = (await cache.say(text, voice="woman", language="en-US")).rsplit("/", 1)[-1]
        with wave.open(str(tmp_path / "sounds" / "tts" / f"{name}.wav")) as wav:
            return wav.getnframes()

    frames, reference = asyncio.run(say(option)), asyncio.run(say(spoken))
    assert frames < reference * 20  # the option's few characters, not the file's 4,000


def test_a_played_file_is_cut_at_the_longest_a_prompt_plays(
    settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A few MB of compressed silence decode to hours (a FLAC of eight 48 kHz channels, 50 MB, is a day
    of audio): converted whole it filled the media server's disk and held a CPU for minutes."""
    settings.EGRESS_ALLOW = ["127.0.0.1/32"]
    monkeypatch.setattr(media, "MAX_PLAY_SECONDS", 5)
    path = tmp_path / "long.flac"
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", str(path), "trim", "0", "20"], check=True)
    flac = path.read_bytes()
    with TwimlApp() as app:
        app.routes["/long.flac"] = lambda form: (200, "audio/flac", flac)
        played = _fetch(tmp_path, f"{app.url}/long.flac")
    with wave.open(str(played)) as wav:
        assert wav.getnframes() == 5 * 8000
