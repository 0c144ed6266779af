"""Encrypted blobs at rest (call recordings): AES-256-GCM in 1 MiB chunks under a per-blob data key.

Each chunk's associated data carries the blob's id, the chunk's index and whether it is the last, so
a truncated, reordered or spliced file fails to open. The data key itself is stored wrapped by the
field-encryption keys (`core.crypto`), so key rotation never rewrites the blobs.
"""

import base64
import os
import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core import crypto

MAGIC = b"SBS1"
CHUNK = 1024 * 1024


class SealError(Exception):
    pass


def _aad(blob_id: str, index: int, is_final: bool) -> bytes:
    return f"{blob_id}|{index}|{int(is_final)}".encode()


def seal(data: bytes, *, blob_id: str, key_aad: str) -> tuple[bytes, str]:
    """(sealed bytes, wrapped data key)."""
    key = AESGCM.generate_key(bit_length=256)
    aes = AESGCM(key)
    chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)] or [b""]
    out = [MAGIC]
    for index, chunk in enumerate(chunks):
        nonce = os.urandom(12)
        sealed = aes.encrypt(nonce, chunk, _aad(blob_id, index, index == len(chunks) - 1))
        out.append(struct.pack(">I", len(sealed)) + nonce + sealed)
    return b"".join(out), crypto.encrypt(base64.b64encode(key).decode(), aad=key_aad)


def unseal(blob: bytes, *, blob_id: str, wrapped_key: str, key_aad: str) -> bytes:
    if blob[:4] != MAGIC:
        raise SealError("not a sealed blob")
    aes = AESGCM(base64.b64decode(crypto.decrypt(wrapped_key, aad=key_aad)))
    plain, offset, index = [], 4, 0
    while offset < len(blob):
        (length,) = struct.unpack(">I", blob[offset : offset + 4])
        nonce, sealed = blob[offset + 4 : offset + 16], blob[offset + 16 : offset + 16 + length]
        offset += 16 + length
        is_final = offset >= len(blob)
        try:
            plain.append(aes.decrypt(nonce, sealed, _aad(blob_id, index, is_final)))
        except Exception as exc:
            raise SealError(f"chunk {index} failed to authenticate") from exc
        index += 1
    if index == 0:
        raise SealError("no chunks")
    return b"".join(plain)
