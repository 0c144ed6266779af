"""Resolve a request's credentials to a tenant context, setting the transaction's tenant as it goes.

Every lookup here runs under row-level security, so each step first points the transaction at the
one account it is allowed to read: the account named by the credentials, then the account named in
the URL. A parent's credentials reach a subaccount; nothing else crosses accounts.
"""

import base64
import binascii
import re
import secrets
import uuid

from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.base import SessionBase
from django.db import connection

from core.attempts import AttemptPolicy, attempt_key, attempts_check, attempts_count
from core.error_codes import ErrorCode
from core.errors import TwilioError, not_found
from core.sids import sid_to_uuid
from core.tenancy import tenant_activate
from tenants.context import TenantContext
from tenants.models import Account, ApiKey, ApiKeyRoute, Membership, User

API_ACCOUNT_PATH = re.compile(r"^/2010-04-01/Accounts(?:/(?P<sid>[^/]+?))?(?:\.json)?(?:/|$)")


def _not_authenticated() -> TwilioError:
    return TwilioError(ErrorCode.PERMISSION_DENIED, "Authenticate", 401)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, sep, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (username, password) if sep else None


def _account(account_id: uuid.UUID) -> Account | None:
    """Point the transaction at `account_id` and read that account.

    Written out in SQL because every API request runs it: the ORM spent about three times as much
    CPU building this one-row query as running it took.
    """
    tenant_activate(account_id)
    fields = Account._meta.concrete_fields
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(quote(str(f.column)) for f in fields)} "
            f"FROM {quote(Account._meta.db_table)} WHERE id = %s",
            [account_id],
        )
        row = cursor.fetchone()
    return Account.from_db(connection.alias, [f.attname for f in fields], row) if row else None


def _principal_for_token(sid: str, token: str) -> Account | None:
    account_id = sid_to_uuid(sid, "AC")
    account = _account(account_id) if account_id else None
    if account is None or account.status == Account.Status.CLOSED:
        return None
    if secrets.compare_digest(account.auth_token, token):
        return account
    # While a secondary token exists, it authenticates too (Twilio's rotation without downtime).
    secondary = account.secondary_auth_token
    return account if secondary is not None and secrets.compare_digest(secondary, token) else None


def _key_account(key_id: uuid.UUID) -> uuid.UUID | None:
    """The account owning an API key, for a path that names none (the v1 product APIs)."""
    route = ApiKeyRoute.objects.filter(key_id=key_id).first()
    return route.account_id if route is not None else None


def _principal_for_key(
    sid: str, secret: str, path_sid: str | None, *, is_product_api: bool
) -> tuple[Account, ApiKey] | None:
    """An API key belongs to the URL's account or its parent; look in those two only. A product
    API's URL names no account (`/taskrouter/v1/…`): there the key's own is meant."""
    key_id = sid_to_uuid(sid, "SK")
    if key_id is None:
        return None
    path_id = sid_to_uuid(path_sid, "AC") if path_sid else None
    if path_id is None and is_product_api:
        path_id = _key_account(key_id)
    if path_id is None:
        return None
    target = _account(path_id)
    candidates = [target] if target is not None else []
    if target is not None and target.parent_id is not None:
        parent = _account(target.parent_id)
        candidates += [parent] if parent is not None else []
    for account in candidates:
        tenant_activate(account.id)
        key = ApiKey.objects.filter(id=key_id).first()
        if key is not None:
            is_usable = key.check_secret(secret) and account.status != Account.Status.CLOSED
            return (account, key) if is_usable else None
    return None


# Twilio's v1 product APIs, whose paths name no account: an API key there acts for its own account.
PRODUCT_API_PREFIXES = ("/taskrouter/v1/", "/ai/v1/")


# Refused credentials are counted per client address and per claimed AccountSid or key SID. An
# address past its allowance is refused everything for a while. A claimed SID past its allowance
# (someone guessing one account's token from many addresses) is refused only to addresses that have
# failed recently: an address with no failures still reaches the check, so whoever knows an
# AccountSid cannot lock the account's own servers out of the API.
API_FAILURES_PER_ADDRESS = AttemptPolicy(free=30, base_s=10, max_s=900, window_s=900)
API_FAILURES_PER_CREDENTIAL = AttemptPolicy(free=30, base_s=10, max_s=900, window_s=900)


def _too_many_failures() -> TwilioError:
    return TwilioError(ErrorCode.TOO_MANY_REQUESTS, "Too Many Requests", 429)


def _principal(
    username: str, secret: str, path_sid: str | None, *, is_product_api: bool
) -> tuple[Account, ApiKey | None] | None:
    if username.startswith("SK"):
        return _principal_for_key(username, secret, path_sid, is_product_api=is_product_api)
    by_token = _principal_for_token(username, secret)
    return (by_token, None) if by_token is not None else None


def authenticate_api(
    authorization: str, path: str, *, address: str, counts_failures: bool = True
) -> TenantContext:
    """The context for an API request with this Authorization header to this path from this client
    address, or a TwilioError saying why there is none: 20003 for credentials refused (counted,
    unless the caller will pass the request on to be answered, and counted, elsewhere), 20429 while
    the address or the claimed credential has failed too often."""
    credentials = _basic_credentials(authorization)
    if credentials is None:
        raise _not_authenticated()
    username, secret = credentials
    keys = [attempt_key("api-address", address), attempt_key("api-credential", username[:64])]
    by_address, by_credential = attempts_check(keys)
    if by_address.is_locked or (by_credential.is_locked and by_address.failures):
        raise _too_many_failures()
    match = API_ACCOUNT_PATH.match(path)
    path_sid = match.group("sid") if match else None
    found = _principal(username, secret, path_sid, is_product_api=path.startswith(PRODUCT_API_PREFIXES))
    if found is None:
        if counts_failures:
            attempts_count([(keys[0], API_FAILURES_PER_ADDRESS), (keys[1], API_FAILURES_PER_CREDENTIAL)])
        raise _not_authenticated()
    principal, api_key = found
    if principal.status == Account.Status.SUSPENDED and path_sid in (None, principal.sid):
        raise TwilioError(ErrorCode.ACCOUNT_NOT_ACTIVE, "Account not active", 403)
    if path_sid is None or path_sid == principal.sid:
        account = principal
    else:
        target_id = sid_to_uuid(path_sid, "AC")
        target = _account(target_id) if target_id else None
        if target is None or target.parent_id != principal.id:
            raise not_found(path)
        if principal.status != Account.Status.ACTIVE:
            raise TwilioError(ErrorCode.ACCOUNT_NOT_ACTIVE, "Account not active", 403)
        account = target
    # The transaction is already scoped to `account`: it was the last one looked up.
    return TenantContext(account=account, principal=principal, api_key=api_key)


def portal_context(*, user: User | AnonymousUser, session: SessionBase) -> TenantContext | None:
    """The signed-in user's current account (kept in the session), or None if they have none."""
    if not user.is_authenticated:
        return None
    tenant_activate(None, user_id=user.pk)
    memberships = {m.account_id: m for m in Membership.objects.filter(user=user)}
    if not memberships:
        return None
    wanted = session.get("account_id")
    account_id = uuid.UUID(wanted) if wanted and uuid.UUID(wanted) in memberships else next(iter(memberships))
    tenant_activate(account_id, user_id=user.pk)
    account = Account.objects.get(id=account_id)
    return TenantContext(account=account, principal=account, user=user, membership=memberships[account_id])
