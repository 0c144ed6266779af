"""`client:` addresses (Twilio's name for an account's own softphones): which channel endpoint rings one.

Voice knows only the scheme. Who the identities are belongs to the contact center, whose softphones
they are (contactcenter/softphone.py registers the resolver when its app is ready), so voice imports
nothing of it. The resolver is given the calling account: another tenant's identity resolves to None.
"""

import uuid
from collections.abc import Callable

CLIENT_SCHEME = "client:"

Resolver = Callable[[uuid.UUID, str], str | None]  # (account id, identity) -> endpoint; a database read
_resolvers: list[Resolver] = []


def client_resolver(resolver: Resolver) -> Resolver:
    """Decorator: the function that maps an account's client identity to its endpoint."""
    _resolvers[:] = [resolver]
    return resolver


def is_client(address: str) -> bool:
    return address.lower().startswith(CLIENT_SCHEME)


def client_identity(address: str) -> str:
    """`client:WK…` -> `WK…`."""
    return address[len(CLIENT_SCHEME) :].strip()


def client_endpoint(*, account_id: uuid.UUID, address: str) -> str | None:
    """The endpoint that rings `address` for a call of `account_id`; None when it is no client of
    that account (or no app resolves clients)."""
    identity = client_identity(address)
    if not identity or not _resolvers:
        return None
    return _resolvers[0](account_id, identity)
