from django.db import migrations

from core.rls import CURRENT_ACCOUNT

# A wake no longer serialises a workspace's writes on its routing-due row (bench/routing: every task
# create waited on it). It NOTIFYs the workspace (delivered on commit, so the pass sees the change),
# and writes the row only when it would move earlier, and then only if no one else holds the row:
# the holder is a writer making it due (and notifying) or a pass rescheduling (whose process listens).
# The row stays what a process finds after it was not listening (see `manage.py taskrouter`).
WAKE = f"""
CREATE OR REPLACE FUNCTION taskrouter_wake(ws uuid, at timestamptz) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    acc uuid := {CURRENT_ACCOUNT};
    due timestamptz;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM taskrouter_workspace WHERE id = ws AND account_id = acc) THEN
        RETURN;
    END IF;
    SELECT due_at INTO due FROM taskrouter_routingdue WHERE workspace_id = ws;
    IF NOT FOUND THEN
        INSERT INTO taskrouter_routingdue (workspace_id, account_id, due_at, version)
        VALUES (ws, acc, at, 1) ON CONFLICT (workspace_id) DO NOTHING;
    ELSIF due IS NULL OR due > at THEN
        PERFORM 1 FROM taskrouter_routingdue WHERE workspace_id = ws FOR UPDATE SKIP LOCKED;
        IF FOUND THEN
            UPDATE taskrouter_routingdue SET due_at = LEAST(COALESCE(due_at, at), at), version = version + 1
            WHERE workspace_id = ws;
        END IF;
    END IF;
    PERFORM pg_notify('taskrouter', ws::text || ' ' || acc::text);
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("taskrouter", "0003_number_routing")]

    # Reversing keeps this body: it has the same signature and callers, and 0002 drops it.
    operations = [migrations.RunSQL(WAKE, reverse_sql=migrations.RunSQL.noop)]
