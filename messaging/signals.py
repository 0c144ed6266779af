"""What messaging announces for the apps above it to project (conversations' timelines,
conversations/receivers.py), so that messaging imports none of them.

Each is sent where the work it announces is done: a receiver of one sent inside a transaction
writes in that transaction (its rows commit or roll back with the messages), and one sent after
commit sees them committed.
"""

from django.dispatch import Signal

# Outbound messages stored, inside the transaction storing them (which is scoped to the account):
# `account_id`, `messages`.
messages_stored = Signal()

# An inbound message stored, after the commit: `message`.
message_received = Signal()

# A bulk alert's messages stored, inside its transaction, once the send task of each chunk is queued
# for after commit: `account_id`, `chunks` (the messages' ids, hex, one list per send task). What a
# receiver queues for after commit runs behind every send, so the alert leaves first.
bulk_messages_stored = Signal()
