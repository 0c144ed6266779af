from django.db import migrations

# A message row is updated three times on its way (claimed, answered by the carrier, receipted), so:
# - fillfactor 80 leaves room in each page for the new versions: an update that changes no indexed
#   column (the claim, the receipt) then stays in its page (a HOT update) and skips all ten indexes,
#   the full-text one among them;
# - autovacuum visits the table after 2 % of it changed, not the default 20 %, so a 40,000-recipient
#   alert on a table of millions does not leave its 120,000 dead row versions for the next one.
STORAGE = "ALTER TABLE messaging_message SET (fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02)"
DEFAULT = "ALTER TABLE messaging_message RESET (fillfactor, autovacuum_vacuum_scale_factor)"


class Migration(migrations.Migration):
    dependencies = [("messaging", "0005_bulk_claims_uncounted")]

    operations = [migrations.RunSQL(STORAGE, reverse_sql=DEFAULT)]
