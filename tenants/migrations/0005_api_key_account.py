from django.db import migrations, models

from core.rls import revoke_from_app

# Runs as the table owner (SECURITY DEFINER), so the application role keeps the key routes in step
# through the keys table without being able to write routes itself.
ROUTE_TRIGGER = """
CREATE FUNCTION tenants_apikey_route_sync() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM tenants_apikeyroute WHERE key_id = OLD.id;
        RETURN OLD;
    END IF;
    INSERT INTO tenants_apikeyroute (key_id, account_id) VALUES (NEW.id, NEW.account_id);
    RETURN NEW;
END $$;
CREATE TRIGGER tenants_apikey_route_sync AFTER INSERT OR DELETE
    ON tenants_apikey FOR EACH ROW EXECUTE FUNCTION tenants_apikey_route_sync();
"""

# The keys made before this migration: the owner reads them past its own forced RLS for this once.
BACKFILL = """
ALTER TABLE tenants_apikey NO FORCE ROW LEVEL SECURITY;
INSERT INTO tenants_apikeyroute (key_id, account_id) SELECT id, account_id FROM tenants_apikey;
ALTER TABLE tenants_apikey FORCE ROW LEVEL SECURITY;
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0004_invitation")]

    operations = [
        migrations.CreateModel(
            name="ApiKeyRoute",
            fields=[
                ("key_id", models.UUIDField(primary_key=True, serialize=False)),
                ("account_id", models.UUIDField()),
            ],
        ),
        migrations.RunSQL(
            ROUTE_TRIGGER,
            reverse_sql="DROP TRIGGER tenants_apikey_route_sync ON tenants_apikey; "
            "DROP FUNCTION tenants_apikey_route_sync();",
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
        revoke_from_app("tenants_apikeyroute", "INSERT, UPDATE, DELETE, TRUNCATE"),
    ]
