from django.db import migrations

from core.rls import enable_rls


class Migration(migrations.Migration):
    dependencies = [("streams", "0001_initial")]

    operations = [enable_rls("streams_stream")]
