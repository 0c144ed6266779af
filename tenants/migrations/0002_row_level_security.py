from django.db import migrations

from core.rls import CURRENT_ACCOUNT, CURRENT_USER, enable_rls


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [
        # An account sees itself and its subaccounts (never its parent); a signed-in user also sees
        # the accounts they are a member of, for the account switcher.
        enable_rls(
            "tenants_account",
            using=(
                f"id = {CURRENT_ACCOUNT} OR parent_id = {CURRENT_ACCOUNT} OR id IN "
                f"(SELECT account_id FROM tenants_membership WHERE user_id = {CURRENT_USER})"
            ),
        ),
        enable_rls("tenants_membership", using=f"account_id = {CURRENT_ACCOUNT} OR user_id = {CURRENT_USER}"),
        enable_rls("tenants_apikey"),
    ]
