"""numbering's answers to what happens in the apps below it (connected in `NumberingConfig.ready`)."""

from typing import Any

from django.dispatch import receiver

from numbering.services import numbers_release
from tenants.models import Account
from tenants.signals import account_closed


@receiver(account_closed)
def release_numbers_of_closed_account(sender: Any, *, account: Account, actor: str, **kwargs: Any) -> None:
    """Twilio releases a closed account's numbers; in the closing transaction, after the account's
    row is locked, so a number created concurrently waits, then is refused."""
    numbers_release(account=account, actor=actor, reason="account closed")
