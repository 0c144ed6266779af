"""PJSIP endpoint strings, built only here: what ARI dials, sends texts to and sends events of.

`trunk` is the PJSIP endpoint `asterisk/config.py` renders for the carrier (calls and SIP MESSAGE).
"""

TRUNK = "trunk"


def trunk_address(trunk_uri: str) -> str:
    """Where the trunk's requests go, as the host part of a SIP URI: `sip:[user@]host[:port]` ->
    `host[:port]` (the number dialled becomes the user part)."""
    return trunk_uri.removeprefix("sip:").rpartition("@")[2]


def dial_number(number: str, address: str) -> str:
    """The channel endpoint that calls `number` through the trunk at `address` (`trunk_address`)."""
    return f"PJSIP/{TRUNK}/sip:{number}@{address}"


def dial_uri(uri: str) -> str:
    """The channel endpoint that calls a SIP URI through the trunk; the caller has already checked
    where `uri` leads (core.egress.sip_destination)."""
    return f"PJSIP/{TRUNK}/{uri}"


def message_destination(endpoint: str, number: str, address: str) -> str:
    """The `to` of a SIP MESSAGE for `number`, sent by `endpoint` to the trunk at `address`."""
    return f"pjsip:{endpoint}/sip:{number}@{address}"


def endpoint_events(endpoint: str) -> str:
    """The ARI event source of an endpoint (texts received by it, its state)."""
    return f"endpoint:PJSIP/{endpoint}"


def dial_softphone(name: str) -> str:
    """The channel endpoint that rings the browser softphone registered as PJSIP endpoint `name`."""
    return f"PJSIP/{name}"
