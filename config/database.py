"""Derive the three PostgreSQL connections from one admin URL.

Switchboard connects with three roles so that row-level security really binds:
- admin: the URL the operator gives (`DATABASE_URL`); it creates the roles and the database;
- owner: owns every table and runs migrations; nobody else logs in as it;
- app: what the web server, Celery and the workers use; neither owner nor superuser,
  so `FORCE ROW LEVEL SECURITY` policies apply to every query it makes.
"""

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import dj_database_url


@dataclass(frozen=True)
class DatabaseRoles:
    admin_url: str
    name: str
    owner: str
    app: str
    # Random and independent of SECRET_KEY (config/secrets.py); `manage.py provision` sets them on the roles.
    owner_password: str = field(repr=False)
    app_password: str = field(repr=False)

    def password(self, role: str) -> str:
        return {self.owner: self.owner_password, self.app: self.app_password}[role]

    def url_for(self, role: str | None, database: str | None = None) -> str:
        parts = urlsplit(self.admin_url)
        netloc = parts.netloc.rsplit("@", 1)[-1]
        if role is not None:
            netloc = f"{quote(role)}:{quote(self.password(role), safe='')}@{netloc}"
        elif "@" in parts.netloc:
            netloc = parts.netloc
        path = "/" + (database or self.name)
        return urlunsplit((parts.scheme, netloc, path, parts.query, parts.fragment))

    def django_config(self, role: str | None, *, pool_size: int = 0) -> dict[str, Any]:
        """Django's settings for one role; `pool_size` > 0 gives it a psycopg connection pool.

        Under ASGI every request runs in a fresh thread, so Django's per-thread persistent
        connections are never reused; a pool is what keeps connections warm. It is safe with
        row-level security because the tenant is set per transaction, never per session.
        Pooled connections prepare a statement once it has run five times on them (psycopg's
        threshold; Django turns it off for the sake of pgbouncer, which we do not use): PostgreSQL
        then skips parsing and planning it. Plans stay right for every tenant, since the policies
        read the tenant when the statement runs.
        """
        config: dict[str, Any] = dict(dj_database_url.parse(self.url_for(role), conn_max_age=0))
        config["ENGINE"] = "django.db.backends.postgresql"
        config["TEST"] = {"NAME": self.name}
        if pool_size:
            config["OPTIONS"] = {
                "pool": {"min_size": 1, "max_size": pool_size, "timeout": 10},
                "server_side_binding": True,
                "prepare_threshold": 5,
            }
        return config
