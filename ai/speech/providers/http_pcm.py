"""Speech vendors' HTTP APIs. Text-to-speech whose answer is raw PCM streamed as it is made (OpenAI,
ElevenLabs, Polly): one POST, the body resampled to 8 kHz piece by piece. Answers that come whole
(Google's voices, the speech-to-text of a whole turn): one POST. Either way a refusal becomes a
SpeechError with the vendor's own message."""

from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any

import httpx

from ai.speech.audio import StreamResampler
from ai.speech.base import SAMPLE_RATE, SpeechError
from ai.speech.providers import transient_status

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


async def stream_pcm(
    *,
    vendor: str,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    rate: int,
    error_message: Callable[[Any], str],
) -> AsyncGenerator[bytes, None]:
    """slin 8 kHz from the answer to POST `url` with `body` (JSON, encoded by the caller, who may have
    signed these very bytes), whose 200 body is 16-bit mono PCM at `rate`. `error_message` picks the
    message out of a refusal's JSON."""
    resampler = StreamResampler(from_rate=rate, to_rate=SAMPLE_RATE)
    try:
        async with (
            httpx.AsyncClient(timeout=TIMEOUT) as client,
            client.stream(
                "POST", url, content=body, headers={"content-type": "application/json", **headers}
            ) as response,
        ):
            if response.status_code != 200:
                await response.aread()
                status = response.status_code
                message = f"{vendor} answered {status}: {vendor_message(response, error_message)}"
                raise SpeechError(message, transient=transient_status(status))
            async for chunk in response.aiter_bytes():
                if out := resampler.feed(chunk):
                    yield out
    except httpx.HTTPError as error:
        raise SpeechError(f"{vendor} is unreachable: {error}", transient=True) from error
    if tail := resampler.feed(b"", last=True):
        yield tail


def error_object_message(answer: dict) -> str:
    """The message of a refusal shaped {`error`: {`message`, ...}}, as Google's and OpenAI's are."""
    return answer["error"]["message"]


def vendor_message(response: httpx.Response, pick: Callable[[Any], str]) -> str:
    """The refusal's own message, picked out of its JSON; its text when it has none."""
    try:
        return str(pick(response.json()))
    except (ValueError, KeyError, TypeError):
        return response.text[:200]


async def post(
    *,
    vendor: str,
    url: str,
    error_message: Callable[[Any], str],
    timeout: httpx.Timeout = TIMEOUT,
    **request: Any,
) -> httpx.Response:
    """The 200 answer to POST `url` with httpx's `request` arguments (json=, files=, headers=...)."""
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(url, **request)
    except httpx.HTTPError as error:
        raise SpeechError(f"{vendor} is unreachable: {error}", transient=True) from error
    if response.status_code != 200:
        status = response.status_code
        message = f"{vendor} answered {status}: {vendor_message(response, error_message)}"
        raise SpeechError(message, transient=transient_status(status))
    return response
