"""Pure functions that recompute the signatures oss2 sends, for the server side to compare.

Two schemes (oss2 2.19.1 `auth.py`; the tests check these against oss2's own signer):

* v1 (`oss2.Auth`, the default): `Authorization: OSS <ak>:<b64 HMAC-SHA1>` over the method, Content-MD5,
  Content-Type, the date, the sorted `x-oss-*` headers and `/bucket/key` plus whitelisted subresources.
* v4 (`oss2.AuthV4`): `Authorization: OSS4-HMAC-SHA256 Credential=<ak>/<yyyymmdd>/<region>/oss/
  aliyun_v4_request, Signature=<hex>[, AdditionalHeaders=a;b]` over a canonical request, signed with a
  key derived from the secret, the day, the region and the product.

Headers are passed as a mapping with lower-case names; query parameters as decoded (name, value) pairs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote

from localcloud.oss.errors import AccessDenied, InvalidArgument

__all__ = [
    "MAX_CLOCK_SKEW_SECONDS",
    "V1_SUBRESOURCES",
    "V4_ALGORITHM",
    "OssAuthorization",
    "parse_authorization",
    "request_time",
    "v1_signature",
    "v1_string_to_sign",
    "v4_canonical_request",
    "v4_signature",
    "v4_signing_key",
    "v4_string_to_sign",
]

V4_ALGORITHM = "OSS4-HMAC-SHA256"
_V4_TERMINATOR = "aliyun_v4_request"
_V4_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
# OSS rejects requests whose date is further than this from the server's clock.
MAX_CLOCK_SKEW_SECONDS = 15 * 60
# Content-Type and Content-MD5 are always signed by v4, like every x-oss-* header.
_V4_DEFAULT_SIGNED = ("content-type", "content-md5")

# Query parameters v1 signs (as `?k=v&k2`): OSS's published subresource list, as oss2 2.19.1 has it.
V1_SUBRESOURCES = frozenset({
    "response-content-type", "response-content-language", "response-cache-control", "logging",
    "response-content-encoding", "acl", "uploadId", "uploads", "partNumber", "group", "link", "delete", "website",
    "location", "objectInfo", "objectMeta", "response-expires", "response-content-disposition", "cors", "lifecycle",
    "restore", "qos", "referer", "stat", "bucketInfo", "append", "position", "security-token", "live", "comp",
    "status", "vod", "startTime", "endTime", "x-oss-process", "symlink", "callback", "callback-var", "tagging",
    "encryption", "versions", "versioning", "versionId", "policy", "requestPayment", "x-oss-traffic-limit",
    "qosInfo", "asyncFetch", "x-oss-request-payer", "sequential", "inventory", "inventoryId", "continuation-token",
    "worm", "wormId", "wormExtend", "replication", "replicationLocation", "replicationProgress",
    "transferAcceleration", "cname", "metaQuery", "x-oss-ac-source-ip", "x-oss-ac-subnet-mask", "x-oss-ac-vpc-id",
    "x-oss-ac-forward-allow", "resourceGroup", "style", "styleName", "x-oss-async-process", "regionList",
    "x-oss-write-get-object-response", "bucketArchiveDirectRead", "httpsConfig", "redundancyTransition",
    "x-oss-target-redundancy-type", "x-oss-redundancy-transition-taskid", "accessPoint", "accessPointPolicy",
    "publicAccessBlock", "x-oss-access-point-name", "requesterQosInfo", "qosRequester", "resourcePoolInfo",
    "resourcePool", "resourcePoolBuckets",
})


@dataclass(frozen=True)
class OssAuthorization:
    """An `Authorization` header taken apart; the scope fields are v4 only."""

    version: str  # "v1" or "v4"
    access_key_id: str
    signature: str
    date: str = ""  # yyyymmdd
    region: str = ""
    product: str = ""
    additional_headers: tuple[str, ...] = ()


def parse_authorization(header: str) -> OssAuthorization:
    """Split a v1 or v4 `Authorization` header into its parts."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme == "OSS":
        return _parse_v1(rest.strip())
    if scheme == V4_ALGORITHM:
        return _parse_v4(rest)
    raise InvalidArgument(f"The Authorization scheme '{scheme[:40]}' is not supported: localcloud verifies "
                          f"'OSS <AccessKeyId>:<Signature>' (v1) and '{V4_ALGORITHM}' (v4).",
                          "Authorization", scheme[:40])


def _parse_v1(rest: str) -> OssAuthorization:
    key_id, _, signature = rest.rpartition(":")
    if not key_id or not signature:
        raise InvalidArgument("The v1 Authorization header must be 'OSS <AccessKeyId>:<Signature>'.")
    return OssAuthorization("v1", key_id, signature)


def _parse_v4(rest: str) -> OssAuthorization:
    fields = dict(part.strip().split("=", 1) for part in rest.split(",") if "=" in part)
    scope = fields.get("Credential", "").split("/")
    if len(scope) != 5 or not all(scope) or scope[4] != _V4_TERMINATOR or not fields.get("Signature"):
        raise InvalidArgument(f"The {V4_ALGORITHM} Authorization header needs Credential=<AccessKeyId>/<yyyymmdd>/"
                              f"<region>/oss/{_V4_TERMINATOR} and Signature=<hex>.")
    additional = tuple(h.strip().lower() for h in fields.get("AdditionalHeaders", "").split(";") if h.strip())
    key_id, date, region, product, _ = scope
    return OssAuthorization("v4", key_id, fields["Signature"], date, region, product, additional)


# -- v1 -----------------------------------------------------------------------------------------------
def v1_string_to_sign(method: str, headers: Mapping[str, str], bucket: str, key: str,
                      query: Iterable[tuple[str, str]]) -> str:
    """What a v1 client signed: verb, Content-MD5, Content-Type, date, x-oss-* headers, resource."""
    date = headers.get("x-oss-date") or headers.get("date", "")
    return "\n".join([method.upper(), headers.get("content-md5", ""), headers.get("content-type", ""), date,
                      _v1_oss_headers(headers) + _v1_resource(bucket, key, query)])


def _v1_oss_headers(headers: Mapping[str, str]) -> str:
    return "".join(f"{name}:{value}\n" for name, value in sorted(headers.items()) if name.startswith("x-oss-"))


def _v1_resource(bucket: str, key: str, query: Iterable[tuple[str, str]]) -> str:
    signed = sorted((k, v) for k, v in query if k in V1_SUBRESOURCES)
    subresources = "&".join(f"{k}={v}" if v else k for k, v in signed)
    resource = f"/{bucket}/{key}" if bucket else "/"
    return f"{resource}?{subresources}" if subresources else resource


def v1_signature(secret: str, string_to_sign: str) -> str:
    """Base64 HMAC-SHA1 of the string to sign."""
    return base64.b64encode(hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha1).digest()).decode()


# -- v4 -----------------------------------------------------------------------------------------------
def _v4_encode(text: str, keep_slash: bool = False) -> str:
    # quote() leaves exactly the unreserved characters A-Z a-z 0-9 - _ . ~ unescaped, as OSS v4 wants.
    return quote(text, safe="/" if keep_slash else "")


def v4_canonical_request(method: str, bucket: str, key: str, query: Iterable[tuple[str, str]],
                         headers: Mapping[str, str], additional_headers: Iterable[str]) -> str:
    """The canonical request of a v4 signature (the payload hash is x-oss-content-sha256's value)."""
    additional = sorted(set(additional_headers))
    uri = _v4_encode(f"/{bucket}/{key}" if bucket else "/", keep_slash=True)
    encoded = sorted((_v4_encode(k), _v4_encode(v)) for k, v in query)
    canonical_query = "&".join(f"{k}={v}" if v else k for k, v in encoded)
    signed = [(name, value) for name, value in sorted(headers.items())
              if name.startswith("x-oss-") or name in _V4_DEFAULT_SIGNED or name in additional]
    canonical_headers = "".join(f"{name}:{value}\n" for name, value in signed)
    payload = headers.get("x-oss-content-sha256", "UNSIGNED-PAYLOAD")
    return "\n".join([method.upper(), uri, canonical_query, canonical_headers, ";".join(additional), payload])


def v4_string_to_sign(auth: OssAuthorization, request_datetime: str, canonical_request: str) -> str:
    """Algorithm, x-oss-date, scope and the hex SHA-256 of the canonical request."""
    scope = f"{auth.date}/{auth.region}/{auth.product}/{_V4_TERMINATOR}"
    digest = hashlib.sha256(canonical_request.encode()).hexdigest()
    return f"{V4_ALGORITHM}\n{request_datetime}\n{scope}\n{digest}"


def v4_signing_key(secret: str, date: str, region: str, product: str) -> bytes:
    """The HMAC-SHA256 chain "aliyun_v4"+secret → date → region → product → "aliyun_v4_request"."""
    key = ("aliyun_v4" + secret).encode()
    for part in (date, region, product, _V4_TERMINATOR):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def v4_signature(secret: str, auth: OssAuthorization, string_to_sign: str) -> str:
    """Hex HMAC-SHA256 of the string to sign under the scope's signing key."""
    key = v4_signing_key(secret, auth.date, auth.region, auth.product)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


# -- request time -------------------------------------------------------------------------------------
def request_time(headers: Mapping[str, str], version: str) -> float:
    """The POSIX time a request says it was signed at: x-oss-date (v4, or v1 if sent) or Date (v1)."""
    if version == "v4" or "x-oss-date" in headers:
        raw = headers.get("x-oss-date", "")
        parse = _parse_v4_date if version == "v4" else _parse_http_date
    else:
        raw, parse = headers.get("date", ""), _parse_http_date
    if not raw:
        raise AccessDenied("The request has no date: send a Date header (v1) or x-oss-date (v4).")
    try:
        return parse(raw)
    except (TypeError, ValueError):
        raise AccessDenied(f"The request date '{raw[:64]}' is not in the format OSS expects.") from None


def _parse_v4_date(raw: str) -> float:
    return datetime.strptime(raw, _V4_DATE_FORMAT).replace(tzinfo=UTC).timestamp()


def _parse_http_date(raw: str) -> float:
    parsed = parsedate_to_datetime(raw)
    if parsed.tzinfo is None:  # RFC 1123 dates are GMT; a date without a zone means the same here
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
