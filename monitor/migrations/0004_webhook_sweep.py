import django.utils.timezone
from django.db import migrations, models

from core.rls import revoke_from_app

# Runs as the table owner (SECURITY DEFINER), so the application role keeps the global table in step
# through the deliveries without being able to write it itself. Ids and times only: no URL or
# parameter leaves the tenant's rows.
SYNC_TRIGGER = """
CREATE FUNCTION monitor_webhook_sync() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM monitor_pendingwebhook WHERE delivery_id = OLD.id;
        RETURN OLD;
    END IF;
    IF NEW.status = 'pending' THEN
        INSERT INTO monitor_pendingwebhook (delivery_id, account_id, due_at)
        VALUES (NEW.id, NEW.account_id, NEW.due_at)
        ON CONFLICT (delivery_id) DO UPDATE SET due_at = EXCLUDED.due_at;
    ELSIF TG_OP = 'UPDATE' THEN
        DELETE FROM monitor_pendingwebhook WHERE delivery_id = NEW.id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER monitor_webhook_sync
    AFTER INSERT OR DELETE OR UPDATE OF status, due_at
    ON monitor_webhookdelivery FOR EACH ROW EXECUTE FUNCTION monitor_webhook_sync();
"""


class Migration(migrations.Migration):
    dependencies = [("monitor", "0003_row_level_security")]

    operations = [
        migrations.CreateModel(
            name="PendingWebhook",
            fields=[
                ("delivery_id", models.UUIDField(primary_key=True, serialize=False)),
                ("account_id", models.UUIDField()),
                ("due_at", models.DateTimeField(db_index=True)),
            ],
        ),
        migrations.AddField(
            model_name="webhookdelivery",
            name="due_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.RunSQL(
            SYNC_TRIGGER,
            reverse_sql="DROP TRIGGER monitor_webhook_sync ON monitor_webhookdelivery; "
            "DROP FUNCTION monitor_webhook_sync();",
        ),
        revoke_from_app("monitor_pendingwebhook", "INSERT, UPDATE, DELETE, TRUNCATE"),
    ]
