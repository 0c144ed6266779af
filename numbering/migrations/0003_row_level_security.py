from django.db import migrations

from core.rls import enable_rls, revoke_from_app

# Runs as the table owner (SECURITY DEFINER), so the application role can keep the routing table in
# step through the numbers table without being able to write routes itself.
ROUTE_TRIGGER = """
CREATE FUNCTION numbering_route_sync() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM numbering_numberroute WHERE number_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO numbering_numberroute (phone_number, account_id, number_id)
        VALUES (NEW.phone_number, NEW.account_id, NEW.id);
        RETURN NEW;
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER numbering_route_sync AFTER INSERT OR UPDATE OF phone_number, account_id OR DELETE
    ON numbering_incomingphonenumber FOR EACH ROW EXECUTE FUNCTION numbering_route_sync();
"""


class Migration(migrations.Migration):
    dependencies = [("numbering", "0002_initial")]

    operations = [
        enable_rls("numbering_incomingphonenumber"),
        migrations.RunSQL(
            ROUTE_TRIGGER,
            reverse_sql="DROP TRIGGER numbering_route_sync ON numbering_incomingphonenumber; "
            "DROP FUNCTION numbering_route_sync();",
        ),
        revoke_from_app("numbering_numberroute", "INSERT, UPDATE, DELETE, TRUNCATE"),
    ]
