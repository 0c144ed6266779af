"""AWS Signature Version 4 for one request, as Amazon's APIs (Polly here) require:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html.

Only what a JSON POST to a path without a query needs: the signed headers are the ones given plus
`host` and `x-amz-date`, the payload is hashed whole. tests/ai/test_polly.py checks it against AWS's
own test-suite vectors (get-vanilla, post-vanilla).
"""

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import quote, urlsplit


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


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
    amz_date, day = at.strftime("%Y%m%dT%H%M%SZ"), at.strftime("%Y%m%d")
    to_sign = {name.lower(): value.strip() for name, value in headers.items()}
    to_sign |= {"host": parts.netloc, "x-amz-date": amz_date}
    names = sorted(to_sign)
    canonical = "\n".join(
        [
            method,
            quote(parts.path or "/", safe="/-_.~"),
            "",  # no query string
            "".join(f"{name}:{to_sign[name]}\n" for name in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret_key}".encode(), day), region), service), "aws4_request")
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    credential = f"Credential={access_key}/{scope}"
    authorization = f"AWS4-HMAC-SHA256 {credential}, SignedHeaders={';'.join(names)}, Signature={signature}"
    return {**headers, "x-amz-date": amz_date, "Authorization": authorization}
