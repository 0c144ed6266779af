"""AWS Signature Version 4, as Amazon's APIs require:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html.

Two forms: signed headers for a JSON POST to a path without a query (Polly), and a presigned URL
whose query carries the signature (Transcribe's websocket, which cannot send headers of its own:
https://docs.aws.amazon.com/transcribe/latest/dg/streaming-setting-up.html#streaming-websocket).
tests/ai/test_polly.py checks the first against AWS's own test-suite vectors (get-vanilla,
post-vanilla), tests/ai/test_transcribe.py the second against the presigned URL of S3's documented
example.
"""

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_PAYLOAD_SHA256 = hashlib.sha256(b"").hexdigest()


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _scope(at: datetime, region: str, service: str) -> str:
    return f"{at.strftime('%Y%m%d')}/{region}/{service}/aws4_request"


def _amz_date(at: datetime) -> str:
    return at.strftime("%Y%m%dT%H%M%SZ")


def _signature(
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    payload_sha256: str,
    region: str,
    service: str,
    secret_key: str,
    at: datetime,
) -> str:
    """The hex signature of one canonical request; `headers` are the signed ones, lowercase names."""
    names = sorted(headers)
    canonical = "\n".join(
        [
            method,
            quote(path or "/", safe="/-_.~"),
            query,
            "".join(f"{name}:{headers[name]}\n" for name in names),
            ";".join(names),
            payload_sha256,
        ]
    )
    string_to_sign = "\n".join(
        [
            ALGORITHM,
            _amz_date(at),
            _scope(at, region, service),
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    day = at.strftime("%Y%m%d")
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret_key}".encode(), day), region), service), "aws4_request")
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def signed_headers(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    region: str,
    service: str,
    access_key: str,
    secret_key: str,
    at: datetime,
) -> dict[str, str]:
    """`headers` plus `x-amz-date` and the `Authorization` that signs them, `host` and `body`."""
    parts = urlsplit(url)
    to_sign = {name.lower(): value.strip() for name, value in headers.items()}
    to_sign |= {"host": parts.netloc, "x-amz-date": _amz_date(at)}
    signature = _signature(
        method=method,
        path=parts.path,
        query="",
        headers=to_sign,
        payload_sha256=hashlib.sha256(body).hexdigest(),
        region=region,
        service=service,
        secret_key=secret_key,
        at=at,
    )
    credential = f"Credential={access_key}/{_scope(at, region, service)}"
    authorization = (
        f"{ALGORITHM} {credential}, SignedHeaders={';'.join(sorted(to_sign))}, Signature={signature}"
    )
    return {**headers, "x-amz-date": _amz_date(at), "Authorization": authorization}


def presigned_url(
    *,
    url: str,
    query: Mapping[str, str],
    region: str,
    service: str,
    access_key: str,
    secret_key: str,
    at: datetime,
    expires_seconds: int = 300,
    payload_sha256: str = EMPTY_PAYLOAD_SHA256,
) -> str:
    """`url` (no query of its own) with `query` and the X-Amz-* parameters that sign a GET of it,
    `host` the only signed header."""
    parts = urlsplit(url)
    params = {
        **query,
        "X-Amz-Algorithm": ALGORITHM,
        "X-Amz-Credential": f"{access_key}/{_scope(at, region, service)}",
        "X-Amz-Date": _amz_date(at),
        "X-Amz-Expires": str(expires_seconds),
        "X-Amz-SignedHeaders": "host",
    }
    canonical_query = "&".join(
        f"{quote(name, safe='-_.~')}={quote(value, safe='-_.~')}" for name, value in sorted(params.items())
    )
    signature = _signature(
        method="GET",
        path=parts.path,
        query=canonical_query,
        headers={"host": parts.netloc},
        payload_sha256=payload_sha256,
        region=region,
        service=service,
        secret_key=secret_key,
        at=at,
    )
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{canonical_query}&X-Amz-Signature={signature}"
