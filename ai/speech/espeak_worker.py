"""A long-lived espeak-ng synthesis worker: `python -m ai.speech.espeak_worker`, its stdin a unix
SOCK_SEQPACKET socket to the relay (ai/speech/espeak.py starts it and talks to it).

libespeak-ng (the Debian library the espeak-ng command runs on) is driven through ctypes in
synchronous mode: it hands over each `BUFFER_MS` of audio as it synthesises, which is sent on at
once, at the library's rate (the relay resamples it: numpy and soxr here would triple a worker's
start, 0.33 s of CPU with them). The library holds one synthesis per process (global state), so a
worker speaks one clause at a time. Workers outlive their clauses because starting a process from
the relay held the relay's event loop (bench/RESULTS.md, "Where it breaks"), and each new espeak-ng
loaded its voice before its first audio (15-30 ms; here under 2 ms).

A message is one frame: a kind byte and the clause's number (little-endian 32 bits), then its body.
In: `S` speak (JSON: text, voice, words_per_minute), `C` cancel. Out: `R` ready (once; its body the
sample rate, little-endian 32 bits), `A` audio (16-bit mono PCM),
`X` an error (its message), `E` the clause's end (after a cancel too). A cancel is looked for
between pieces of audio, so a barge-in stops the synthesis within one piece; the relay ignores what
comes tagged with a clause it no longer waits for, so it need not drain a cancelled one.
"""

import contextlib
import ctypes
import json
import socket
import struct
import sys

HEADER = struct.Struct("<cI")
MESSAGE_BYTES = 65536  # at most, either way (a piece of audio is 1.6 KB)
BUFFER_MS = 100  # audio per callback: how much is sent at once, and how soon a cancel is seen
DEFAULT_VOICE = "en-us"  # loaded before `R`, so no clause waits for it
_SYNCHRONOUS = 2  # AUDIO_OUTPUT_SYNCHRONOUS
_DONT_EXIT = 0x8000  # espeakINITIALIZE_DONT_EXIT: an error is returned, not exit()
_RATE = 1  # espeakRATE, words per minute
_POS_CHARACTER = 1
_UTF8_ENDPAUSE = 0x1 | 0x1000  # espeakCHARS_UTF8 | espeakENDPAUSE: a clause ends in a pause, as the CLI's
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


def frame(kind: bytes, clause: int, body: bytes = b"") -> bytes:
    return HEADER.pack(kind, clause) + body


def parse(message: bytes) -> tuple[bytes, int, bytes]:
    kind, clause = HEADER.unpack_from(message)
    return kind, clause, message[HEADER.size :]


class Synthesizer:
    """libespeak-ng in this process, speaking each clause to `channel`."""

    def __init__(self, channel: socket.socket) -> None:
        self.channel = channel
        self.lib = ctypes.CDLL("libespeak-ng.so.1")
        self.rate = self.lib.espeak_Initialize(_SYNCHRONOUS, BUFFER_MS, None, _DONT_EXIT)
        if self.rate <= 0 or self.lib.espeak_SetVoiceByName(DEFAULT_VOICE.encode()) != 0:
            raise SystemExit("libespeak-ng did not initialise")
        self._callback = _CALLBACK(self._audio)  # kept: the library holds only the pointer
        self.lib.espeak_SetSynthCallback(self._callback)
        self._clause = 0
        self._is_cancelled = False
        self._voice = DEFAULT_VOICE

    def speak(self, clause: int, text: str, voice: str, words_per_minute: int) -> None:
        self._clause, self._is_cancelled = clause, False
        if voice != self._voice and self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            self.channel.send(frame(b"X", clause, f"espeak-ng has no voice {voice!r}".encode()))
        else:
            self._voice = voice  # loaded once, not for every clause
            self.lib.espeak_SetParameter(_RATE, words_per_minute, 0)
            encoded = text.encode()
            failed = self.lib.espeak_Synth(
                encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, _UTF8_ENDPAUSE, None, None
            )
            if failed and not self._is_cancelled:
                self.channel.send(frame(b"X", clause, f"espeak-ng failed (error {failed})".encode()))
        self.channel.send(frame(b"E", clause))

    def _audio(self, samples: "ctypes._Pointer[ctypes.c_short]", count: int, events: int) -> int:
        """The library's callback, after each piece: 1 stops the synthesis (a cancel came)."""
        if count > 0:
            self.channel.send(frame(b"A", self._clause, ctypes.string_at(samples, count * 2)))
        self._is_cancelled = self._is_cancelled or self._cancel_came()
        return int(self._is_cancelled)

    def _cancel_came(self) -> bool:
        """While a clause is spoken the relay sends nothing but its cancel."""
        try:
            message = self.channel.recv(MESSAGE_BYTES, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        return not message or parse(message)[:2] == (b"C", self._clause)  # b"": the relay went


def main() -> None:
    channel = socket.socket(fileno=sys.stdin.fileno())
    synthesizer = Synthesizer(channel)
    channel.send(frame(b"R", 0, struct.pack("<I", synthesizer.rate)))
    while message := channel.recv(MESSAGE_BYTES):
        kind, clause, body = parse(message)
        if kind == b"S":
            request = json.loads(body)
            synthesizer.speak(clause, request["text"], request["voice"], request["words_per_minute"])
        # a cancel that comes after its clause ended asks nothing more


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError, ConnectionResetError, KeyboardInterrupt):  # the relay went
        main()
