"""Voice fixtures: one Asterisk test instance for the session, a sipp UAS on the trunk, an ARI probe.

The instance is named `test` and uses ports apart from the dev platform's (SIP 5060, ARI 8088), so a
running platform and the suite share the chroot without clashing. Set SWITCHBOARD_SKIP_ASTERISK=1 to
skip the end-to-end voice tests on a machine that cannot run them (not root, no sipp).
"""

import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.voice import sipp
from tests.voice.ariprobe import AriProbe
from voice.asterisk import AsteriskInstance, default_root, ensure_root

TEST_SIP_PORT = 5070
TEST_ARI_PORT = 8098
TEST_RTP = (30000, 30999)
TRUNK_UAS_PORT = 5092  # the test instance's trunk_uri: where originated calls go


@pytest.fixture(scope="session")
def asterisk() -> Iterator[AsteriskInstance]:
    """A started Asterisk test instance; stopped at the end of the session."""
    if os.environ.get("SWITCHBOARD_SKIP_ASTERISK") == "1":
        pytest.skip("SWITCHBOARD_SKIP_ASTERISK=1")
    if sipp.sipp_path() is None:
        pytest.fail("sipp is missing: apt-get install sip-tester (or SWITCHBOARD_SKIP_ASTERISK=1)")
    instance = AsteriskInstance(
        name="test",
        root=default_root(),
        sip_port=TEST_SIP_PORT,
        ari_port=TEST_ARI_PORT,
        rtp_start=TEST_RTP[0],
        rtp_end=TEST_RTP[1],
        ari_username="switchboard-test",
        ari_password=secrets.token_urlsafe(16),
        ari_app="switchboard-test",
        trunk_uri=f"sip:127.0.0.1:{TRUNK_UAS_PORT}",
    )
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


@pytest.fixture
def ari(asterisk: AsteriskInstance) -> Iterator[AriProbe]:
    """The test app connected to the instance's event websocket."""
    with AriProbe(asterisk) as probe:
        yield probe


@pytest.fixture
def sipp_dir(tmp_path: Path) -> Path:
    return tmp_path / "sipp"
