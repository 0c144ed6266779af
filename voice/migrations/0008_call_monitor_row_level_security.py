from django.db import migrations

from core.rls import enable_rls


class Migration(migrations.Migration):
    dependencies = [("voice", "0007_call_monitor")]

    operations = [enable_rls("voice_callmonitor")]
