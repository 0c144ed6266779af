"""What voice tells the apps above it, which it does not import (conversations puts calls and
recordings in their contacts' timelines).

Each is sent where the write it reports happens, inside that transaction or on its commit, so a
receiver's writes commit or fail with the call's own rows.
"""

from django.dispatch import Signal

# A call as it belongs in a timeline: an inbound call once it has ended (inside call_finish's
# transaction), an outbound one once it is created (on commit). Sent with `call`.
call_logged = Signal()

# A call ended, whatever its direction and however it ended (inside the transaction ending it). Sent
# with `call`, its final status set.
call_ended = Signal()

# A recording stored and sealed (on commit). Sent with `recording`.
recording_stored = Signal()
