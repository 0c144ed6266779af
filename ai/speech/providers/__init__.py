"""Adapters to speech vendors' APIs, each speaking the vendor's documented protocol."""


def transient_status(status: int) -> bool:
    """An HTTP refusal worth trying again: rate-limited or the vendor's own fault; any other 4xx is
    the key or the request, refused for good."""
    return status == 429 or status >= 500
