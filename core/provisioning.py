"""Create the database and the roles row-level security depends on, then migrate as the owner.

Idempotent: run by the platform command on every start and by the test suite on a fresh database.
"""

import psycopg
from django.conf import settings
from django.core.management import call_command
from psycopg import sql

from config.database import DatabaseRoles
from core import crypto

# The database's comment holds a value sealed with the field keys it was set up with.
KEYS_CHECK_PREFIX = "switchboard field-key check: "


class ForeignSecrets(Exception):
    """The database was set up with field keys this checkout does not have."""


def _ensure_role(cursor: psycopg.Cursor, roles: DatabaseRoles, role: str) -> None:
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    verb = "ALTER" if cursor.fetchone() else "CREATE"
    cursor.execute(
        sql.SQL("{} ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD {}").format(
            sql.SQL(verb), sql.Identifier(role), sql.Literal(roles.password(role))
        )
    )


def provision_database(*, recreate: bool = False) -> None:
    """Roles, database and default privileges; `recreate` drops the database first (tests only)."""
    roles: DatabaseRoles = settings.DATABASE_ROLES
    with psycopg.connect(roles.url_for(None, database="postgres"), autocommit=True) as conn:
        cursor = conn.cursor()
        _ensure_role(cursor, roles, roles.owner)
        _ensure_role(cursor, roles, roles.app)
        if recreate:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(roles.name))
            )
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [roles.name])
        if not cursor.fetchone():
            cursor.execute(
                sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0").format(
                    sql.Identifier(roles.name), sql.Identifier(roles.owner)
                )
            )
    with psycopg.connect(roles.url_for(None), autocommit=True) as conn:
        owner, app = sql.Identifier(roles.owner), sql.Identifier(roles.app)
        for statement in (
            "GRANT CONNECT ON DATABASE {db} TO {app}",
            "ALTER SCHEMA public OWNER TO {owner}",
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
            "GRANT USAGE ON SCHEMA public TO {app}",
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
            "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
            "GRANT USAGE, SELECT ON SEQUENCES TO {app}",
        ):
            conn.execute(sql.SQL(statement).format(db=sql.Identifier(roles.name), owner=owner, app=app))


def migrate() -> None:
    call_command("migrate", database="owner", interactive=False, verbosity=0)


def _keys_check_aad(roles: DatabaseRoles) -> str:
    return f"database:{roles.name}"


def field_keys_check() -> None:
    """Refuse a database whose sealed values this checkout's field keys cannot read (one another
    checkout set up, with a `.data/secrets.json` of its own): a clear stop here, rather than a
    DecryptionError in the first process that reads an auth token. Then seal the check value anew
    under the newest key, as `rotate_field_keys` also does, so rotating keys keeps it readable."""
    roles: DatabaseRoles = settings.DATABASE_ROLES
    with psycopg.connect(roles.url_for(roles.owner), autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = current_database()"
        ).fetchone()
    comment = str(row[0] or "") if row else ""
    if comment.startswith(KEYS_CHECK_PREFIX):
        try:
            crypto.decrypt(comment.removeprefix(KEYS_CHECK_PREFIX), aad=_keys_check_aad(roles))
        except crypto.DecryptionError as exc:
            raise ForeignSecrets(
                f"the database {roles.name} was set up with other secrets than this checkout's "
                f"({settings.DATA_DIR / 'secrets.json'}): use the secrets.json of the checkout that "
                f"made it, or another database (SWITCHBOARD_DB_NAME=switchboard_mine), or drop it to "
                f"start over (dropdb {roles.name}); docs/setup.md, 'Secrets and how to rotate them'"
            ) from exc
    field_keys_seal()


def field_keys_seal() -> None:
    """Keep in the database's comment a value sealed under the newest field key (`field_keys_check`)."""
    roles: DatabaseRoles = settings.DATABASE_ROLES
    sealed = KEYS_CHECK_PREFIX + crypto.encrypt("switchboard", aad=_keys_check_aad(roles))
    with psycopg.connect(roles.url_for(roles.owner), autocommit=True) as conn:
        comment_on = sql.SQL("COMMENT ON DATABASE {} IS {}")
        conn.execute(comment_on.format(sql.Identifier(roles.name), sql.Literal(sealed)))
