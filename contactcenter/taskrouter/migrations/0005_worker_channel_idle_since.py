import django.db.models.functions.datetime
from django.db import migrations, models

# The old order's two keys folded into one: the last reservation, else when the worker's status changed.
BACKFILL = """
UPDATE taskrouter_workerchannel AS channel
SET idle_since = COALESCE(channel.last_reserved_at, worker.date_status_changed)
FROM taskrouter_worker AS worker WHERE worker.id = channel.worker_id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("taskrouter", "0004_wake_without_row_lock"),
        ("tenants", "0005_api_key_account"),
    ]

    operations = [
        migrations.AddField(
            model_name="workerchannel",
            name="idle_since",
            field=models.DateTimeField(db_default=django.db.models.functions.datetime.Now()),
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
        migrations.RemoveIndex(model_name="workerchannel", name="tr_wc_idle"),
        migrations.RemoveField(model_name="workerchannel", name="last_reserved_at"),
        migrations.AddIndex(
            model_name="workerchannel",
            index=models.Index(
                condition=models.Q(("assigned_tasks__lt", models.F("capacity")), ("available", True)),
                fields=["task_channel", "idle_since"],
                name="tr_wc_free",
            ),
        ),
    ]
