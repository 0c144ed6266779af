"""What happens to accounts that apps above tenants act on, sent inside the transaction making it
(so their work commits, or rolls back, with it)."""

from django.dispatch import Signal

# An account was closed: `account` (the transaction is scoped to it) and `actor`. numbering releases
# its numbers (numbering/receivers.py).
account_closed = Signal()
