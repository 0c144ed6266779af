"""G.711 mu-law <-> 16-bit signed linear (little-endian, as AudioSocket carries it), at C speed.

audioop is in the standard library up to Python 3.12 and deprecated since 3.11; from 3.13 the
`audioop-lts` package provides the same module. Its DeprecationWarning says nothing we can act on
before then, so it is silenced at the import alone.
"""

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

SAMPLE_RATE = 8000
FRAME_MS = 20
FRAME_SAMPLES = SAMPLE_RATE * FRAME_MS // 1000  # 160
ULAW_FRAME_BYTES = FRAME_SAMPLES  # one byte a sample
SLIN_FRAME_BYTES = FRAME_SAMPLES * 2  # 320
ULAW_SILENCE = b"\xff"  # mu-law's zero


def slin_to_ulaw(slin: bytes) -> bytes:
    return audioop.lin2ulaw(slin, 2)


def ulaw_to_slin(ulaw: bytes) -> bytes:
    return audioop.ulaw2lin(ulaw, 2)
