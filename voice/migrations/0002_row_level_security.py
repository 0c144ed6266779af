from django.db import migrations

from core.rls import enable_rls


class Migration(migrations.Migration):
    dependencies = [("voice", "0001_initial")]

    operations = [enable_rls("voice_call"), enable_rls("voice_callevent"), enable_rls("voice_recording")]
