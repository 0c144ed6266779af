"""How a speech-to-speech agent's session ended, from its websocket consumer to its `<Connect action>`.

Media Streams gives the action nothing of the app's (no `HandoffData` as ConversationRelay has), so
the session leaves its outcome in Redis under the account's and call's SIDs just before it closes
the stream, and the action takes it once. No outcome at all (the session's process died) is a
session that ended without a word: the action apologises and hands the caller to a person.
"""

import json
from typing import TypedDict

from core.throttling import redis_client

TTL_SECONDS = 300  # the action is fetched as the stream closes: minutes are plenty


class StreamOutcome(TypedDict):
    status: str  # "completed" or "failed", as ConversationRelay's SessionStatus
    handoff_data: str  # JSON text, "" for none
    error: str


def _key(account_sid: str, call_sid: str) -> str:
    """Under the account too: an action signed by one account never takes another's outcome."""
    return f"ai:stream-outcome:{account_sid}:{call_sid}"


def stream_outcome_put(account_sid: str, call_sid: str, outcome: StreamOutcome) -> None:
    redis_client().set(_key(account_sid, call_sid), json.dumps(outcome), ex=TTL_SECONDS)


def stream_outcome_take(account_sid: str, call_sid: str) -> StreamOutcome | None:
    raw = redis_client().getdel(_key(account_sid, call_sid))
    return json.loads(raw) if raw else None
