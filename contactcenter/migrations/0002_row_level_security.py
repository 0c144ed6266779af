from django.db import migrations

from core.rls import enable_rls


class Migration(migrations.Migration):
    dependencies = [("contactcenter", "0001_initial")]

    operations = [enable_rls("contactcenter_queue"), enable_rls("contactcenter_queuemember")]
