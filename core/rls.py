"""Migration operations that put a table under row-level security.

Every tenant-owned table gets the same fail-closed policy: a row is visible and writable only when
its `account_id` equals the transaction's `app.account_id`. An unset setting reads as NULL and an
ended transaction's as '', and both match no row.
"""

from django.db import migrations

CURRENT_ACCOUNT = "NULLIF(current_setting('app.account_id', true), '')::uuid"
CURRENT_USER = "NULLIF(current_setting('app.user_id', true), '')::bigint"


def enable_rls(table: str, using: str | None = None) -> migrations.RunSQL:
    """FORCE RLS on `table` with the tenant policy, or with a custom `using` expression."""
    condition = using or f"account_id = {CURRENT_ACCOUNT}"
    return migrations.RunSQL(
        sql=[
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
            f"CREATE POLICY tenant_isolation ON {table} USING ({condition}) WITH CHECK ({condition})",
        ],
        reverse_sql=[
            f"DROP POLICY tenant_isolation ON {table}",
            f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
            f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
        ],
    )


def revoke_from_app(table: str, privileges: str) -> migrations.RunPython:
    """Take privileges on `table` away from the application role named in settings."""

    def forward(apps: object, schema_editor: object) -> None:
        from django.conf import settings

        role = settings.DATABASE_ROLES.app
        schema_editor.execute(f'REVOKE {privileges} ON {table} FROM "{role}"')  # type: ignore[attr-defined]

    return migrations.RunPython(forward, migrations.RunPython.noop)
