"""Reads about accounts that other apps' services need, such as whether an account may take traffic."""

from core.tenancy import tenant_switch
from tenants.models import Account

_SEVERITY = {Account.Status.ACTIVE: 0, Account.Status.SUSPENDED: 1, Account.Status.CLOSED: 2}


def account_status_in_effect(*, account: Account) -> str:
    """`account`'s status, or its parent's when that is worse: a subaccount of a suspended (closed)
    parent is suspended (closed) in effect, as Twilio's error 10001 says of subaccounts.

    The caller's transaction must be scoped to `account`. Row-level security never shows an account
    its parent, so a subaccount's parent is read under the parent's own scope, which is restored
    after; a top-level account costs no query.
    """
    if account.parent_id is None or account.status == Account.Status.CLOSED:
        return account.status
    with tenant_switch(account.parent_id):
        parent_status = Account.objects.filter(id=account.parent_id).values_list("status", flat=True).get()
    return max(account.status, parent_status, key=lambda status: _SEVERITY[Account.Status(status)])
