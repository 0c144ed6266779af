from django.db import migrations

from core.rls import CURRENT_ACCOUNT

# A change that needs no pass now, only one by a deadline (an offer made as its task was created:
# its timeout), sends no NOTIFY when the workspace is due by then already: no process runs a pass for
# it, and the one sleeping wakes by that time anyway. It bumps the row's version, so a pass running
# meanwhile, which read the deadlines before this commits, cannot reschedule past it
# (`taskrouter_reschedule` keeps the row when its version moved). Otherwise (a later due time, none,
# or the row held by another, which it never waits for) it wakes (`taskrouter_wake`): a sleeping
# process must hear of an earlier due time, and the pass it runs reads every deadline after this
# commits.
DUE = f"""
CREATE FUNCTION taskrouter_due(ws uuid, at timestamptz) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM taskrouter_workspace WHERE id = ws AND account_id = {CURRENT_ACCOUNT}) THEN
        RETURN;
    END IF;
    UPDATE taskrouter_routingdue SET version = version + 1
    WHERE workspace_id = ws AND due_at <= at
      AND workspace_id IN (SELECT workspace_id FROM taskrouter_routingdue WHERE workspace_id = ws
                           FOR UPDATE SKIP LOCKED);
    IF NOT FOUND THEN
        PERFORM taskrouter_wake(ws, at);
    END IF;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("taskrouter", "0009_workspace_agent_lost_action")]

    operations = [migrations.RunSQL(DUE, reverse_sql="DROP FUNCTION taskrouter_due(uuid, timestamptz);")]
