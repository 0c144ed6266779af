from django.db import migrations

from core.rls import enable_rls


class Migration(migrations.Migration):
    dependencies = [("conversations", "0001_initial")]

    operations = [
        enable_rls("conversations_contact"),
        enable_rls("conversations_conversation"),
        enable_rls("conversations_note"),
        enable_rls("conversations_item"),
    ]
