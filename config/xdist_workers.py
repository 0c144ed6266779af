"""Each pytest-xdist worker gets its own database, Redis database and Asterisk test instance.

The suite's real-call and browser tests mostly wait (on calls, timers, pages), so two workers halve
its time on two cores; they may share nothing that a test resets or counts. The worker's variables are
set in the environment, not only in settings, so the processes a test starts (uvicorn, Celery, the
ARI worker, the bridge) inherit them; applied once, as those processes import the settings again.
"""

import os

APPLIED = "SWITCHBOARD_TEST_WORKER_APPLIED"


def worker_environment() -> None:
    """Move this worker's database, Redis database and Asterisk slot off worker 0's (gw0 keeps them)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or os.environ.get(APPLIED):
        return
    number = int(worker[2:])
    os.environ[APPLIED] = worker
    if number == 0:
        return
    name = os.environ.get("SWITCHBOARD_DB_NAME", "switchboard_test").removesuffix("_test")
    os.environ["SWITCHBOARD_DB_NAME"] = f"{name}_gw{number}_test"
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    base, _, db = url.rpartition("/")
    # One apart, so workers numbered past gw1 (SB_TEST_WORKERS=3, or a crashed worker's replacement,
    # gw2) never wrap onto gw0's database and its Celery queues and channel groups (eight apart did).
    os.environ["REDIS_URL"] = f"{base}/{(int(db or 0) + number) % 16}"
    # Slots 0-9 only: from 10 the instance's ARI port (8098 + 200 × slot) falls in Asterisk's default
    # RTP range (10000-19999), which `manage.py asterisk status` refuses as overlapping.
    slot = int(os.environ.get("SWITCHBOARD_TEST_ASTERISK_SLOT", "0"))
    os.environ["SWITCHBOARD_TEST_ASTERISK_SLOT"] = str((slot + number) % 10)
