"""Settings for a benchmark's processes: the platform's own, with Celery's queue named for the bench
database, so a platform or a test run sharing this Redis never takes the bench's tasks (nor it theirs)."""

from config.settings import *  # noqa: F403
from config.settings import DATABASE_ROLES

CELERY_TASK_DEFAULT_QUEUE = f"celery-{DATABASE_ROLES.name}"
