import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("taskrouter", "0005_worker_channel_idle_since"),
        ("tenants", "0005_api_key_account"),
    ]

    operations = [
        migrations.AddField(
            model_name="worker",
            name="member",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="workers",
                to="tenants.membership",
            ),
        ),
        migrations.AddConstraint(
            model_name="worker",
            constraint=models.UniqueConstraint(fields=("workspace", "member"), name="tr_worker_unique_member"),
        ),
    ]
