"""Recordings: stored sealed with their digests in the audit chain, read back, deleted."""

import hashlib
import os
import uuid

from django.conf import settings
from django.db import transaction

from compliance.services import audit_record
from core import sealed
from core.tenancy import tenant_scope
from voice.models import Recording
from voice.signals import recording_stored


def recording_store(
    *, account_id: uuid.UUID, call_id: uuid.UUID, audio: bytes, duration_seconds: int, source: str
) -> Recording:
    """Seal the audio to disk, record its digests in the audit chain, and return the Recording."""
    with transaction.atomic(), tenant_scope(account_id):
        recording = Recording(
            account_id=account_id,
            call_id=call_id,
            status=Recording.Status.COMPLETED,
            source=source,
            duration_seconds=duration_seconds,
        )
        blob, wrapped = sealed.seal(audio, blob_id=recording.sid, key_aad=recording.data_key_aad())
        folder = settings.RECORDINGS_DIR / str(account_id)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{recording.sid}.sealed"
        path.write_bytes(blob)
        recording.media_path = str(path)
        recording.data_key_encrypted = wrapped
        recording.media_sha256 = hashlib.sha256(blob).hexdigest()
        recording.plaintext_sha256 = hashlib.sha256(audio).hexdigest()
        recording.save(force_insert=True)
        audit_record(
            account_id=account_id,
            actor="worker:voice",
            action="recording.create",
            object_sid=recording.sid,
            payload={"sha256": recording.plaintext_sha256, "sealed_sha256": recording.media_sha256},
        )
        transaction.on_commit(
            lambda: recording_stored.send(sender=Recording, recording=recording), robust=True
        )
    return recording


def recording_audio(*, recording: Recording, actor: str, action: str) -> bytes:
    """The recording's audio, unsealed for a reader the caller has checked may hear it. Hearing it is
    a read of what may be health or card data, so it is audited (`action`: how it was heard), once
    the audio is there; FileNotFoundError when it is not."""
    blob = open(recording.media_path, "rb").read()  # noqa: SIM115
    audio = sealed.unseal(
        blob,
        blob_id=recording.sid,
        wrapped_key=recording.data_key_encrypted,
        key_aad=recording.data_key_aad(),
    )
    audit_record(account_id=recording.account_id, actor=actor, action=action, object_sid=recording.sid)
    return audio


def recording_delete(*, recording: Recording, actor: str) -> None:
    """Delete the row, audited; the sealed file goes once that commits."""
    with transaction.atomic():
        audit_record(
            account_id=recording.account_id, actor=actor, action="recording.delete", object_sid=recording.sid
        )
        path = recording.media_path
        recording.delete()
        transaction.on_commit(lambda: _unlink(path))


def _unlink(path: str) -> None:
    if path and os.path.exists(path):
        os.unlink(path)
