import importlib

from django.db import migrations

# Undone by putting back the function of 0004 (its trigger stays as it is).
PREVIOUS_FUNCTION = (
    importlib.import_module("messaging.migrations.0004_bulk_progress")
    .PROGRESS_TRIGGER.split("CREATE TRIGGER")[0]
    .replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
)

# A gateway's claim (queued -> sending) no longer moves a bulk's counts: "queued" now counts every
# message the carrier has not answered. The claim runs in the gateway's reader thread while its writer
# records the carrier's answers; when both updated the bulk's row, each waited for the other's commit
# (about a tenth of a 4,000-message alert's rate on this machine). Now only the writer's transactions,
# one at a time, and the rare cancel or opt-out failure move the row.
PROGRESS_FUNCTION = """
CREATE OR REPLACE FUNCTION messaging_bulk_progress() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    bulk_ids uuid[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM new_rows WHERE bulk_id IS NOT NULL) THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(DISTINCT n.bulk_id ORDER BY n.bulk_id) INTO bulk_ids
      FROM new_rows n JOIN old_rows o ON o.id = n.id
     WHERE n.bulk_id IS NOT NULL AND n.status IS DISTINCT FROM o.status
       AND NOT (n.status IN ('queued', 'sending') AND o.status IN ('queued', 'sending'));
    IF bulk_ids IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM messaging_bulk WHERE id = ANY(bulk_ids) ORDER BY id FOR UPDATE;
    UPDATE messaging_bulk b SET
        num_queued = b.num_queued + d.queued,
        num_sent = b.num_sent + d.sent,
        num_delivered = b.num_delivered + d.delivered,
        num_undelivered = b.num_undelivered + d.undelivered,
        num_failed = b.num_failed + d.failed,
        num_canceled = b.num_canceled + d.canceled,
        status = CASE WHEN b.status = 'sending' AND b.num_queued + d.queued = 0
                      THEN 'completed' ELSE b.status END,
        completed_at = CASE WHEN b.status = 'sending' AND b.num_queued + d.queued = 0
                            THEN now() ELSE b.completed_at END,
        date_updated = now()
    FROM (
        SELECT n.bulk_id,
               count(*) FILTER (WHERE n.status IN ('queued', 'sending'))
                 - count(*) FILTER (WHERE o.status IN ('queued', 'sending')) AS queued,
               count(*) FILTER (WHERE n.status = 'sent') - count(*) FILTER (WHERE o.status = 'sent') AS sent,
               count(*) FILTER (WHERE n.status = 'delivered') - count(*) FILTER (WHERE o.status = 'delivered') AS delivered,
               count(*) FILTER (WHERE n.status = 'undelivered') - count(*) FILTER (WHERE o.status = 'undelivered') AS undelivered,
               count(*) FILTER (WHERE n.status = 'failed') - count(*) FILTER (WHERE o.status = 'failed') AS failed,
               count(*) FILTER (WHERE n.status = 'canceled') - count(*) FILTER (WHERE o.status = 'canceled') AS canceled
          FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE n.bulk_id = ANY(bulk_ids) AND n.status IS DISTINCT FROM o.status
         GROUP BY n.bulk_id
    ) d
    WHERE b.id = d.bulk_id;
    PERFORM pg_notify('switchboard_bulk', bulk_id::text) FROM unnest(bulk_ids) AS bulk_id;
    RETURN NULL;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("messaging", "0004_bulk_progress")]

    operations = [
        # The function first: the one it replaces reads the column removed next.
        migrations.RunSQL(PROGRESS_FUNCTION, reverse_sql=PREVIOUS_FUNCTION),
        migrations.RemoveField(model_name="bulk", name="num_sending"),
    ]
