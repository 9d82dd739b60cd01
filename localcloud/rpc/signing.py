"""Pure functions that recompute the signatures the Tea SDKs send, for the server side to compare.

Two schemes (both documented by Alibaba Cloud, checked against captured SDK requests):

* ACS3-HMAC-SHA256 (the SDK default): an `Authorization` header over a canonical request of method,
  path, sorted query, the headers the client chose to sign, and the body's SHA-256.
* HMAC-SHA1 "v2" RPC: a `Signature` query parameter over every other query and form parameter.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from localcloud.rpc.errors import AuthenticationError, IncompleteSignature, TimestampExpired

__all__ = [
    "ACS3_ALGORITHM",
    "Acs3Authorization",
    "acs3_signature",
    "acs3_string_to_sign",
    "check_request_time",
    "parse_acs3_authorization",
    "rpc_v2_signature",
    "sign_acs3",
]

ACS3_ALGORITHM = "ACS3-HMAC-SHA256"
# Alibaba Cloud rejects requests whose clock is further than this from the server's.
MAX_CLOCK_SKEW_SECONDS = 15 * 60


@dataclass(frozen=True)
class Acs3Authorization:
    algorithm: str
    access_key_id: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_acs3_authorization(header: str) -> Acs3Authorization:
    """Split `ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..` into its parts."""
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ACS3_ALGORITHM:
        raise IncompleteSignature(f"The signature algorithm '{algorithm}' is not supported; use {ACS3_ALGORITHM}.")
    fields = dict(part.strip().split("=", 1) for part in rest.split(",") if "=" in part)
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not fields.get(name)]
    if missing:
        raise IncompleteSignature(f"The Authorization header lacks {', '.join(missing)}.")
    signed = tuple(fields["SignedHeaders"].lower().split(";"))
    return Acs3Authorization(algorithm, fields["Credential"], signed, fields["Signature"])


def acs3_string_to_sign(method: str, path: str, query: Iterable[tuple[str, str]], headers: Mapping[str, str],
                        signed_headers: Iterable[str], payload_sha256: str) -> str:
    """The string the client signed: algorithm line plus the hex SHA-256 of the canonical request."""
    canonical_query = "&".join(f"{k}={quote(v, safe='~')}" for k, v in sorted(query))
    names = list(signed_headers)
    canonical_headers = "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in names)
    canonical_request = "\n".join([
        method.upper(), path or "/", canonical_query, canonical_headers, ";".join(names), payload_sha256,
    ])
    return f"{ACS3_ALGORITHM}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"


def acs3_signature(secret: str, string_to_sign: str) -> str:
    """Hex HMAC-SHA256 of the string to sign."""
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def sign_acs3(access_key_id: str, secret: str, method: str, path: str, query: Iterable[tuple[str, str]],
              headers: Mapping[str, str], body: bytes) -> str:
    """An `Authorization` header for a request, signing every header given (used by raw-HTTP tests)."""
    names = sorted(h.lower() for h in headers)
    lowered = {k.lower(): v for k, v in headers.items()}
    sts = acs3_string_to_sign(method, path, query, lowered, names, hashlib.sha256(body).hexdigest())
    return (f"{ACS3_ALGORITHM} Credential={access_key_id},SignedHeaders={';'.join(names)},"
            f"Signature={acs3_signature(secret, sts)}")


def rpc_v2_signature(params: Mapping[str, str], method: str, secret: str) -> str:
    """Base64 HMAC-SHA1 over the sorted, percent-encoded parameters (everything but `Signature`)."""
    canonical = "&".join(
        f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(params.items()) if k != "Signature"
    )
    string_to_sign = f"{method.upper()}&%2F&{quote(canonical, safe='~')}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def check_request_time(value: str, now: float, name: str = "x-acs-date") -> None:
    """Reject a request time that is malformed or more than 15 minutes from `now`."""
    try:
        when = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise AuthenticationError(f"The {name} '{value}' is not an ISO 8601 UTC time like 2026-01-31T12:00:00Z.",
                                  code="InvalidTimeStamp.Format") from None
    if abs(now - when) > MAX_CLOCK_SKEW_SECONDS:
        raise TimestampExpired(f"The request time {value} is more than 15 minutes from the server time.")
