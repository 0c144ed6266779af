"""What the ARI worker and the media bridge processes tell each other about a Media Stream.

The worker is the authority on a stream's life; a bridge carries its audio. Between them:

1. Bridges announce themselves: each live bridge keeps a field in the `bridges_key()` hash (its id ->
   `BridgeInfo` JSON) fresh every `HEARTBEAT_SECONDS` and listens on `commands_channel(id)` from
   before its first heartbeat. A bridge is live while both hold: a field older than `STALE_SECONDS`
   is dead, and so is one whose channel has no subscriber (a killed bridge's Redis connection, and
   its subscription, go with it at once).
2. To start a stream the worker picks a bridge, writes one `StreamLeg` JSON per media leg under
   `leg_key(connection_id)` (TTL `LEG_TTL_SECONDS`), then asks Asterisk for an ExternalMedia
   AudioSocket channel (`encapsulation=audiosocket`, `transport=tcp`, `format=slin`,
   `external_host=<bridge host:port>`, `data=<connection_id>`). Asterisk connects to the bridge and
   sends the connection id first; the bridge reads the leg's key. The key is written before the
   channel exists, so the bridge never waits for it.
3. Commands to a bridge go over pub/sub on `commands_channel(bridge_id)` (`Dtmf`, `Stop`).
4. A bridge reports what happened (the app's socket opened, closed, failed; a protocol warning) by
   calling `streams.events` in a thread, once per stream event, never per frame.
5. A stream ends when its ExternalMedia channel goes (hung up by the worker, by Asterisk at the
   call's end, or because the bridge died and its TCP connection dropped): the worker sees that on
   ARI, so a killed bridge still ends its streams once.
"""

from typing import Literal, NotRequired, Protocol, TypedDict

from django.conf import settings

HEARTBEAT_SECONDS = 2.0
STALE_SECONDS = 6.0
LEG_TTL_SECONDS = 60

Track = Literal["inbound", "outbound"]


def bridges_key() -> str:
    """The hash of live bridges, named for the database like messaging's streams: deployments (or a
    test run beside a running platform) that share a Redis never take each other's bridges."""
    return f"streams:{settings.DATABASE_ROLES.name}:bridges"


def leg_key(connection_id: str) -> str:
    return f"streams:leg:{connection_id}"


def commands_channel(bridge_id: str) -> str:
    return f"streams:bridge:{bridge_id}"


class BridgeInfo(TypedDict):
    host: str
    port: int  # the AudioSocket listener Asterisk connects to
    streams: int  # streams open now, for spreading new ones
    seen: float  # time.time() of the last heartbeat


class StreamLeg(TypedDict):
    """One AudioSocket connection's worth of a stream: a both_tracks fork has two legs (one per
    track) that share one websocket; every other stream has one."""

    stream_sid: str
    account_sid: str
    call_sid: str
    url: str  # ws:// or wss://, already checked against the destination policy by the worker
    name: str
    track: Track  # what this leg carries: the caller's audio (inbound) or what the caller hears
    tracks: list[Track]  # every track of the stream, as the `start` message lists them
    legs: int  # how many legs the stream has (1 or 2); the websocket opens with the first
    bidirectional: bool  # <Connect><Stream>: the app's media plays to the caller
    parameters: dict[str, str]  # <Parameter>s, as start.customParameters
    signature: NotRequired[str]  # X-Twilio-Signature of the upgrade to `url`, as Twilio signs it


class Dtmf(TypedDict):
    op: Literal["dtmf"]
    stream_sid: str
    digit: str


class Stop(TypedDict):
    op: Literal["stop"]
    stream_sid: str


class Reporter(Protocol):
    """What a bridge tells the platform (`streams.events` implements it; tests may fake it). Each
    is called once per stream event, from a thread, never per frame."""

    def app_connected(self, stream_sid: str) -> None:
        """The app's websocket opened and `connected` and `start` were sent: stream-started."""

    def app_closed(self, stream_sid: str) -> None:
        """The app closed its websocket: a <Connect><Stream> call goes on after </Connect>."""

    def app_failed(self, stream_sid: str, code: int, message: str) -> None:
        """The app could not be reached or broke the protocol beyond repair: stream-error."""

    def app_warning(self, stream_sid: str, code: int, message: str) -> None:
        """A message the app should not have sent (31924 and the like), logged; the stream goes on."""
