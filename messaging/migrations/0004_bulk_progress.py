from django.db import migrations

from core.rls import enable_rls

# A statement-level trigger keeps each bulk's status counts in step with its messages, in the
# transaction that moves them, and marks the bulk completed when nothing is left queued or sending.
# Locking the bulk rows first (in id order) serialises the statements that move one bulk's messages,
# so the counts never drift and two transactions finishing the last messages together cannot both
# miss that the bulk is done; it also keeps two such statements from deadlocking. Runs as the
# invoking role, under the tenant's row-level security. NOTIFY tells the portal's websocket
# listeners (messaging/bulk_events.py) that a bulk moved; PostgreSQL delivers it on commit and only
# once per bulk and transaction.
PROGRESS_TRIGGER = """
CREATE FUNCTION messaging_bulk_progress() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    bulk_ids uuid[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM new_rows WHERE bulk_id IS NOT NULL) THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(DISTINCT n.bulk_id ORDER BY n.bulk_id) INTO bulk_ids
      FROM new_rows n JOIN old_rows o ON o.id = n.id
     WHERE n.bulk_id IS NOT NULL AND n.status IS DISTINCT FROM o.status;
    IF bulk_ids IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM messaging_bulk WHERE id = ANY(bulk_ids) ORDER BY id FOR UPDATE;
    UPDATE messaging_bulk b SET
        num_queued = b.num_queued + d.queued,
        num_sending = b.num_sending + d.sending,
        num_sent = b.num_sent + d.sent,
        num_delivered = b.num_delivered + d.delivered,
        num_undelivered = b.num_undelivered + d.undelivered,
        num_failed = b.num_failed + d.failed,
        num_canceled = b.num_canceled + d.canceled,
        status = CASE WHEN b.status = 'sending' AND b.num_queued + d.queued + b.num_sending + d.sending = 0
                      THEN 'completed' ELSE b.status END,
        completed_at = CASE WHEN b.status = 'sending' AND b.num_queued + d.queued + b.num_sending + d.sending = 0
                            THEN now() ELSE b.completed_at END,
        date_updated = now()
    FROM (
        SELECT n.bulk_id,
               count(*) FILTER (WHERE n.status = 'queued') - count(*) FILTER (WHERE o.status = 'queued') AS queued,
               count(*) FILTER (WHERE n.status = 'sending') - count(*) FILTER (WHERE o.status = 'sending') AS sending,
               count(*) FILTER (WHERE n.status = 'sent') - count(*) FILTER (WHERE o.status = 'sent') AS sent,
               count(*) FILTER (WHERE n.status = 'delivered') - count(*) FILTER (WHERE o.status = 'delivered') AS delivered,
               count(*) FILTER (WHERE n.status = 'undelivered') - count(*) FILTER (WHERE o.status = 'undelivered') AS undelivered,
               count(*) FILTER (WHERE n.status = 'failed') - count(*) FILTER (WHERE o.status = 'failed') AS failed,
               count(*) FILTER (WHERE n.status = 'canceled') - count(*) FILTER (WHERE o.status = 'canceled') AS canceled
          FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE n.bulk_id IS NOT NULL AND n.status IS DISTINCT FROM o.status
         GROUP BY n.bulk_id
    ) d
    WHERE b.id = d.bulk_id;
    PERFORM pg_notify('switchboard_bulk', bulk_id::text) FROM unnest(bulk_ids) AS bulk_id;
    RETURN NULL;
END $$;
CREATE TRIGGER messaging_bulk_progress
    AFTER UPDATE ON messaging_message
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION messaging_bulk_progress();
"""


class Migration(migrations.Migration):
    dependencies = [("messaging", "0003_bulk")]

    operations = [
        enable_rls("messaging_bulk"),
        # A bulk's recipients in number order (its messages' numbers are unique: duplicates were
        # removed). Partial, so other messages pay nothing; status is deliberately not indexed, which
        # keeps status updates eligible for HOT.
        migrations.RunSQL(
            "CREATE INDEX message_bulk_recipient ON messaging_message (bulk_id, to_number) "
            "WHERE bulk_id IS NOT NULL",
            reverse_sql="DROP INDEX message_bulk_recipient",
        ),
        migrations.RunSQL(
            PROGRESS_TRIGGER,
            reverse_sql="DROP TRIGGER messaging_bulk_progress ON messaging_message; "
            "DROP FUNCTION messaging_bulk_progress();",
        ),
    ]
