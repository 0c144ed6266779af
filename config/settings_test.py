"""Test settings: a dedicated database, eager-free Celery, fast password hashing."""

import os

from config.xdist_workers import worker_environment

os.environ.setdefault("SWITCHBOARD_DB_NAME", "switchboard_test")
worker_environment()
os.environ.setdefault("SWITCHBOARD_ENV", "development")  # a test may set a short DJANGO_SECRET_KEY

from kombu import Queue  # noqa: E402

from config.settings import *  # noqa: E402,F403
from config.settings import DATABASE_ROLES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
API_RATE_PER_SECOND = int(os.environ.get("SWITCHBOARD_API_RATE_PER_SECOND", "1000"))
assert DATABASE_ROLES.name.endswith("_test"), "tests must never run against a non-test database"
LOGGING["loggers"]["django.request"] = {"level": "ERROR"}  # type: ignore[index]  # noqa: F405  (4xx are expected)
# Keep test traffic apart from a platform that may be running against the same Redis.
CELERY_TASK_DEFAULT_QUEUE = f"celery-{DATABASE_ROLES.name}"  # one queue per test database
CELERY_BULK_QUEUE = f"{CELERY_TASK_DEFAULT_QUEUE}-bulk"
CELERY_TASK_QUEUES = [Queue(CELERY_TASK_DEFAULT_QUEUE), Queue(CELERY_BULK_QUEUE)]
CACHES["default"]["KEY_PREFIX"] = "test"  # noqa: F405
RECORDINGS_DIR = DATA_DIR / "test-recordings"  # noqa: F405
# The tests' tenant apps listen on loopback; the SSRF tests narrow this to show what it refuses.
EGRESS_ALLOW = env_list("SWITCHBOARD_EGRESS_ALLOW", ["127.0.0.0/8", "::1"])  # noqa: F405
# A test process runs the workers' call code under many short-lived event loops; each loop's executor
# threads keep a pooled connection (voice.store.db) and end without giving it back, which the pool then
# counts as lent for good (about one per ARI worker test). A real process has one loop and one executor
# for its life. The cap, not the connections opened: the pool starts with one and grows on demand.
DATABASES["default"]["OPTIONS"]["pool"]["max_size"] = 40  # noqa: F405
