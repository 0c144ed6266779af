"""Create the database and the roles row-level security depends on, then migrate as the owner.

Idempotent: run by the platform command on every start and by the test suite on a fresh database.
"""

import psycopg
from django.conf import settings
from django.core.management import call_command
from psycopg import sql

from config.database import DatabaseRoles


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
