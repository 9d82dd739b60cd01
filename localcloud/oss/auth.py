"""Who signed an OSS request (authentication) and whether RAM lets them do it (authorization).

Checks run in this order, so each failure names the first thing wrong: the Authorization header's
shape, the AccessKey (InvalidAccessKeyId), an STS key's token (InvalidSecurityToken) and expiry
(SecurityTokenExpired), the signature (SignatureDoesNotMatch), and last the request date
(RequestTimeTooSkewed). Expiry comes before the date because STS keys live at least 900 s, so a key
that expired during a long-running job reports the real cause rather than a clock problem.
"""

from __future__ import annotations

import hashlib
import hmac

from localcloud import policy
from localcloud.oss import signing
from localcloud.oss.errors import (
    AccessDenied,
    InvalidAccessKeyId,
    InvalidSecurityToken,
    RequestTimeTooSkewed,
    SecurityTokenExpired,
    SignatureDoesNotMatch,
)
from localcloud.oss.request import OssRequest
from localcloud.services.ram import policies_of_role
from localcloud.store import AccessKey, Store
from localcloud.times import iso_utc

__all__ = ["authenticate", "authorize", "bucket_arn", "object_arn"]

_UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"


def bucket_arn(account: str, bucket: str) -> str:
    """The RAM resource of bucket-level actions (ListObjects)."""
    return f"acs:oss:*:{account}:{bucket}"


def object_arn(account: str, bucket: str, key: str) -> str:
    """The RAM resource of object-level actions (GetObject, PutObject)."""
    return f"acs:oss:*:{account}:{bucket}/{key}"


def authenticate(store: Store, request: OssRequest, now: float) -> AccessKey:
    """The key that signed the request; raises the OSS error real OSS would send otherwise."""
    header = request.headers.get("authorization", "")
    if not header:
        raise AccessDenied("Anonymous access is not allowed: sign the request with an AccessKey "
                           "(localcloud buckets are private, and it does not accept signed URLs).")
    auth = signing.parse_authorization(header)
    key = _known_key(store, auth.access_key_id, request.headers.get("x-oss-security-token"), now)
    expected = _v1_expected(key, request) if auth.version == "v1" else _v4_expected(key, auth, request)
    if not hmac.compare_digest(expected.encode(), auth.signature.encode()):
        raise SignatureDoesNotMatch("The request signature we calculated does not match the signature you "
                                    "provided. Check your key and signing method.", OSSAccessKeyId=key.id)
    _check_time(request, auth.version, now)
    return key


def _known_key(store: Store, key_id: str, token: str | None, now: float) -> AccessKey:
    key = store.access_key(key_id)
    if key is None:
        raise InvalidAccessKeyId("The OSS Access Key Id you provided does not exist in our records.",
                                 OSSAccessKeyId=key_id[:128])
    if key.kind == "sts":
        if not token or not hmac.compare_digest(token.encode(), (key.security_token or "").encode()):
            raise InvalidSecurityToken("The security token you provided is invalid: an STS AccessKey needs its "
                                       "own token in x-oss-security-token.")
        if key.is_expired(now):
            raise SecurityTokenExpired("The security token you provided has expired: get new STS credentials.",
                                       Expiration=iso_utc(key.expires_at or 0))
    return key


def _v1_expected(key: AccessKey, request: OssRequest) -> str:
    string_to_sign = signing.v1_string_to_sign(request.method, request.headers, request.bucket, request.key,
                                               request.query)
    return signing.v1_signature(key.secret, string_to_sign)


def _v4_expected(key: AccessKey, auth: signing.OssAuthorization, request: OssRequest) -> str:
    request_datetime = request.headers.get("x-oss-date", "")
    signing.request_time(request.headers, "v4")  # a missing or malformed x-oss-date fails here, not below
    if auth.product != "oss" or request_datetime[:8] != auth.date:
        raise SignatureDoesNotMatch("The v4 credential scope must name product 'oss' and the day of x-oss-date.",
                                    OSSAccessKeyId=key.id)
    _check_payload_hash(request)
    canonical = signing.v4_canonical_request(request.method, request.bucket, request.key, request.query,
                                             request.headers, auth.additional_headers)
    return signing.v4_signature(key.secret, auth, signing.v4_string_to_sign(auth, request_datetime, canonical))


def _check_payload_hash(request: OssRequest) -> None:
    declared = request.headers.get("x-oss-content-sha256", _UNSIGNED_PAYLOAD)
    actual = hashlib.sha256(request.body).hexdigest()
    if declared != _UNSIGNED_PAYLOAD and not hmac.compare_digest(declared.encode(), actual.encode()):
        raise SignatureDoesNotMatch("The body does not match x-oss-content-sha256: it changed after signing.")


def _check_time(request: OssRequest, version: str, now: float) -> None:
    sent = signing.request_time(request.headers, version)
    if abs(now - sent) > signing.MAX_CLOCK_SKEW_SECONDS:
        raise RequestTimeTooSkewed("The difference between the request time and the current time is too large.",
                                   RequestTime=iso_utc(sent), ServerTime=iso_utc(now),
                                   MaxAllowedSkewMilliseconds=str(signing.MAX_CLOCK_SKEW_SECONDS * 1000))


def authorize(store: Store, key: AccessKey, action: str, resource: str) -> None:
    """Let root keys do anything in their account; check STS keys against the role's and session's policies."""
    if key.kind == "root":
        return
    principal = key.principal
    decision = policy.evaluate(policies_of_role(store, key.account_id, principal.get("role_name") or ""),
                               action, resource)
    session_policy = principal.get("session_policy")
    if decision.allowed and session_policy:  # the session policy can only narrow what the role allows
        decision = policy.evaluate([policy.parse_policy(session_policy)], action, resource)
    if not decision.allowed:
        raise AccessDenied(f"Access denied by authorizer's policy: {action} on {resource} is not allowed by the "
                           f"policies of the role {principal.get('role_name')} (and its session policy).",
                           AuthAction=action, NoPermissionType=decision.reason)
