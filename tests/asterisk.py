"""Asterisk fixtures for every test package: one test instance for the session, an ARI probe.

A plugin of the root conftest (not a package conftest), so voice and messaging tests share the one
session instance: a second copy of the fixture would wait on the session lock its first copy holds.

The instance is named `test` and uses ports apart from the dev platform's (SIP 5060, ARI 8088), so a
running platform and the suite share the chroot without clashing; concurrent test sessions on one
machine take turns (a lock held for the session), unless each picks its own instance with
SWITCHBOARD_TEST_ASTERISK_SLOT=1, 2, ... (instance `test-<slot>`, every port moved by 200 × slot).
Set SWITCHBOARD_SKIP_ASTERISK=1 to skip the end-to-end voice tests on a machine that cannot run them
(not root, no sipp).
"""

import fcntl
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from config.xdist_workers import worker_environment
from mediaserver.asterisk import AsteriskInstance, default_root, ensure_root
from tests.mediaserver.ariprobe import AriProbe
from tests.voice import sipp

worker_environment()  # a pytest-xdist worker's own slot, whichever of this and the settings is first
SLOT = int(os.environ.get("SWITCHBOARD_TEST_ASTERISK_SLOT", "0"))
INSTANCE_NAME = f"test-{SLOT}" if SLOT else "test"
TEST_SIP_PORT = 5070 + 200 * SLOT
TEST_ARI_PORT = 8098 + 200 * SLOT
TEST_TLS_PORT = 8099 + 200 * SLOT  # WSS for browser softphones
TEST_RTP = (30000 + 1000 * SLOT, 30999 + 1000 * SLOT)
TRUNK_UAS_PORT = 5092 + 200 * SLOT  # the test instance's trunk_uri: where originated calls go
LOCK_WAIT_S = 240.0


@pytest.fixture(scope="session")
def asterisk() -> Iterator[AsteriskInstance]:
    """A started Asterisk test instance; stopped at the end of the session."""
    if os.environ.get("SWITCHBOARD_SKIP_ASTERISK") == "1":
        pytest.skip("SWITCHBOARD_SKIP_ASTERISK=1")
    if sipp.sipp_path() is None:
        pytest.fail("sipp is missing: apt-get install sip-tester (or SWITCHBOARD_SKIP_ASTERISK=1)")
    instance = AsteriskInstance(
        name=INSTANCE_NAME,
        root=default_root(),
        sip_port=TEST_SIP_PORT,
        ari_port=TEST_ARI_PORT,
        tls_port=TEST_TLS_PORT,
        rtp_start=TEST_RTP[0],
        rtp_end=TEST_RTP[1],
        ari_username="switchboard-test",
        ari_password=secrets.token_urlsafe(16),
        ari_app="switchboard-test",
        trunk_uri=f"sip:127.0.0.1:{TRUNK_UAS_PORT}",
    )
    with _session_lock(instance.root):
        started = time.monotonic()
        ensure_root(instance.root)
        root_s = time.monotonic() - started
        instance.stop()  # one left over from an interrupted run has another password
        start_s = instance.start(timeout=30)
        print(f"\nasterisk test instance: chroot ready in {root_s:.2f} s, started in {start_s:.2f} s")
        try:
            yield instance
        finally:
            instance.stop()


@contextmanager
def _session_lock(root: Path, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """One test session at a time owns the `test` instance (developers share machines).

    Without it a second session would stop the first one's Asterisk. The lock dies with its process,
    so an interrupted run never leaves it held.
    """
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}-{INSTANCE_NAME}-instance.lock", "w") as handle:
        deadline = time.monotonic() + wait_s
        announced = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"another test session has held the Asterisk test instance for {wait_s:.0f} s"
                    )
                if not announced:
                    print("\nwaiting for another test session to release the Asterisk test instance")
                    announced = True
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture
def ari(asterisk: AsteriskInstance) -> Iterator[AriProbe]:
    """The test app connected to the instance's event websocket."""
    with AriProbe(asterisk) as probe:
        yield probe


@pytest.fixture
def sipp_dir(tmp_path: Path) -> Path:
    return tmp_path / "sipp"
