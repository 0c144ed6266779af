from django.db import migrations

from core.rls import enable_rls, revoke_from_app

# Runs as the table owner (SECURITY DEFINER), so the application role keeps the two global tables in
# step through the messages table without being able to write them itself. Ids and times only: no
# number or body ever leaves the tenant's rows.
SYNC_TRIGGER = """
CREATE FUNCTION messaging_message_sync() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    work_since timestamptz;
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM messaging_pendingmessage WHERE message_id = OLD.id;
        DELETE FROM messaging_carrierroute WHERE message_id = OLD.id;
        RETURN OLD;
    END IF;
    work_since := COALESCE(NEW.handed_over_at, NEW.date_created);
    IF NEW.status = 'scheduled' THEN
        work_since := NEW.send_at;
    END IF;
    IF NEW.status IN ('scheduled', 'queued', 'sending')
       OR (NEW.status = 'received' AND NEW.is_webhook_pending) THEN
        INSERT INTO messaging_pendingmessage (message_id, account_id, status, gateway, since)
        VALUES (NEW.id, NEW.account_id, NEW.status, NEW.gateway, work_since)
        ON CONFLICT (message_id) DO UPDATE
            SET status = EXCLUDED.status, gateway = EXCLUDED.gateway, since = EXCLUDED.since;
    ELSIF TG_OP = 'UPDATE' THEN
        DELETE FROM messaging_pendingmessage WHERE message_id = NEW.id;
    END IF;
    -- Routes stay while the message exists: a late receipt for a finished message is then found
    -- (and ignored) rather than retried as unknown.
    IF NEW.direction <> 'inbound' AND NEW.connector <> ''
       AND NEW.carrier_message_ids IS DISTINCT FROM OLD.carrier_message_ids THEN
        INSERT INTO messaging_carrierroute (connector, carrier_message_id, account_id, message_id)
        SELECT NEW.connector, carrier_id, NEW.account_id, NEW.id FROM unnest(NEW.carrier_message_ids) AS carrier_id
        ON CONFLICT (connector, carrier_message_id) DO UPDATE
            SET account_id = EXCLUDED.account_id, message_id = EXCLUDED.message_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER messaging_message_sync
    AFTER INSERT OR DELETE
    OR UPDATE OF status, send_at, handed_over_at, gateway, is_webhook_pending, carrier_message_ids
    ON messaging_message FOR EACH ROW EXECUTE FUNCTION messaging_message_sync();
"""


class Migration(migrations.Migration):
    dependencies = [("messaging", "0001_initial")]

    operations = [
        enable_rls("messaging_message"),
        enable_rls("messaging_media"),
        enable_rls("messaging_consentstate"),
        enable_rls("messaging_consentevent"),
        migrations.RunSQL(
            SYNC_TRIGGER,
            reverse_sql="DROP TRIGGER messaging_message_sync ON messaging_message; "
            "DROP FUNCTION messaging_message_sync();",
        ),
        revoke_from_app("messaging_pendingmessage", "INSERT, UPDATE, DELETE, TRUNCATE"),
        revoke_from_app("messaging_carrierroute", "INSERT, UPDATE, DELETE, TRUNCATE"),
        # The consent log is evidence: appended, never changed.
        revoke_from_app("messaging_consentevent", "UPDATE, DELETE, TRUNCATE"),
    ]
