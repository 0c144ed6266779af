from django.db import migrations

from core.rls import enable_rls


class Migration(migrations.Migration):
    dependencies = [("monitor", "0002_initial")]

    operations = [enable_rls("monitor_notification"), enable_rls("monitor_webhookdelivery")]
