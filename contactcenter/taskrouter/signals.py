"""What the TaskRouter engine announces for the parts of the contact center above it (a conversation's
timeline notes, contactcenter/receivers.py), so that the engine imports none of them."""

from django.dispatch import Signal

# Every event of a workspace's log, inside the transaction recording it: `event` (the Event row) and
# `resource` (the task, reservation, worker... it is about). A receiver writes in that transaction.
event_recorded = Signal()
