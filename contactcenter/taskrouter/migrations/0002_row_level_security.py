from django.db import migrations

from core.rls import CURRENT_ACCOUNT, enable_rls, revoke_from_app

# The routing process finds due workspaces in taskrouter_routingdue before it knows a tenant, so that
# table has no RLS; the application role only reads it and writes through these two functions, which
# run as the table owner and act only for the workspace of the tenant in the transaction's context.
ROUTING_FUNCTIONS = f"""
CREATE FUNCTION taskrouter_wake(ws uuid, at timestamptz) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    acc uuid := {CURRENT_ACCOUNT};
BEGIN
    IF NOT EXISTS (SELECT 1 FROM taskrouter_workspace WHERE id = ws AND account_id = acc) THEN
        RETURN;
    END IF;
    INSERT INTO taskrouter_routingdue (workspace_id, account_id, due_at, version)
    VALUES (ws, acc, at, 1)
    ON CONFLICT (workspace_id) DO UPDATE
        SET due_at = LEAST(COALESCE(taskrouter_routingdue.due_at, EXCLUDED.due_at), EXCLUDED.due_at),
            version = taskrouter_routingdue.version + 1;
    PERFORM pg_notify('taskrouter', '');
END $$;

CREATE FUNCTION taskrouter_reschedule(ws uuid, seen bigint, at timestamptz) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE taskrouter_routingdue SET due_at = at
    WHERE workspace_id = ws AND version = seen AND account_id = {CURRENT_ACCOUNT};
    RETURN FOUND;
END $$;
"""

TABLES = [
    "taskrouter_workspace",
    "taskrouter_activity",
    "taskrouter_taskchannel",
    "taskrouter_worker",
    "taskrouter_workerchannel",
    "taskrouter_taskqueue",
    "taskrouter_taskqueueworker",
    "taskrouter_workflow",
    "taskrouter_task",
    "taskrouter_reservation",
    "taskrouter_event",
]


class Migration(migrations.Migration):
    dependencies = [("taskrouter", "0001_initial")]

    operations = [
        *(enable_rls(table) for table in TABLES),
        migrations.RunSQL(
            ROUTING_FUNCTIONS,
            reverse_sql="DROP FUNCTION taskrouter_wake(uuid, timestamptz); "
            "DROP FUNCTION taskrouter_reschedule(uuid, bigint, timestamptz);",
        ),
        revoke_from_app("taskrouter_routingdue", "INSERT, UPDATE, DELETE, TRUNCATE"),
    ]
