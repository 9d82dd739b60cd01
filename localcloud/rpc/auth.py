"""Authenticating a Tea request: which key signed it, and is the signature fresh and right."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from localcloud.rpc import signing
from localcloud.rpc.errors import (
    AccessKeyNotFound,
    IncompleteSignature,
    InvalidSecurityToken,
    SignatureDoesNotMatch,
    SignatureNonceUsed,
)
from localcloud.rpc.service import Principal
from localcloud.store import AccessKey, Store

__all__ = ["RpcRequest", "authenticate"]

# Headers an ACS3 signature must cover, or the request could be altered or replayed unnoticed.
_MUST_SIGN = ("host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce",
              "x-acs-content-sha256")


@dataclass(frozen=True)
class RpcRequest:
    """The parts of an HTTP request that signatures cover."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    form: tuple[tuple[str, str], ...]

    @property
    def query_dict(self) -> dict[str, str]:
        return dict(self.query)


def is_signed(request: RpcRequest) -> bool:
    return "authorization" in request.headers or "Signature" in request.query_dict


def authenticate(store: Store, request: RpcRequest, now: float) -> Principal:
    """The principal whose key signed the request; raises an AuthenticationError otherwise."""
    if "authorization" in request.headers:
        key = _verify_acs3(store, request, now)
        nonce = request.headers["x-acs-signature-nonce"]
    elif "Signature" in request.query_dict:
        key = _verify_v2(store, request, now)
        nonce = request.query_dict["SignatureNonce"]
    else:
        raise IncompleteSignature("The request is not signed: send an ACS3-HMAC-SHA256 Authorization header "
                                  "or a v2 Signature parameter.")
    if not store.use_nonce(nonce, now):
        raise SignatureNonceUsed(f"The signature nonce {nonce} has already been used.")
    return _principal(key)


def _same(expected: str, presented: str) -> bool:
    """Constant-time equality of a secret value and what the request presents, which may be any text: compared as
    UTF-8 bytes, since compare_digest refuses str with non-ASCII characters (a TypeError, not a mismatch)."""
    return hmac.compare_digest(expected.encode(), presented.encode())


def _known_key(store: Store, key_id: str, token: str | None, now: float) -> AccessKey:
    key = store.access_key(key_id)
    if key is None:
        raise AccessKeyNotFound(f"The AccessKey ID {key_id} does not exist.")
    if key.kind == "sts":
        if not token:
            raise InvalidSecurityToken("MissingToken", "An STS AccessKey needs its security token "
                                       "(x-acs-security-token or SecurityToken).")
        if not _same(token, key.security_token or ""):
            raise InvalidSecurityToken("MismatchWithAccessKey", "The security token does not belong to "
                                       "this AccessKey ID.")
        if key.is_expired(now):
            raise InvalidSecurityToken("Expired", "The security token has expired; get new STS credentials.")
    return key


def _verify_acs3(store: Store, request: RpcRequest, now: float) -> AccessKey:
    auth = signing.parse_acs3_authorization(request.headers["authorization"])
    unsigned = [h for h in _MUST_SIGN if h not in auth.signed_headers]
    missing = [h for h in auth.signed_headers if h not in request.headers]
    if unsigned or missing:
        raise IncompleteSignature(f"Headers {', '.join(unsigned + missing)} must be present and signed.")
    key = _known_key(store, auth.access_key_id, request.headers.get("x-acs-security-token"), now)
    payload = hashlib.sha256(request.body).hexdigest()
    if not _same(payload, request.headers["x-acs-content-sha256"]):
        raise SignatureDoesNotMatch("The body does not match x-acs-content-sha256: it changed after signing.")
    string_to_sign = signing.acs3_string_to_sign(request.method, request.path, request.query, request.headers,
                                                 auth.signed_headers, payload)
    if not _same(signing.acs3_signature(key.secret, string_to_sign), auth.signature):
        raise SignatureDoesNotMatch("The request signature does not match. Check your AccessKey secret.")
    signing.check_request_time(request.headers["x-acs-date"], now)
    return key


def _verify_v2(store: Store, request: RpcRequest, now: float) -> AccessKey:
    query = request.query_dict
    missing = [n for n in ("AccessKeyId", "SignatureNonce", "Timestamp") if not query.get(n)]
    if missing or query.get("SignatureMethod") != "HMAC-SHA1":
        raise IncompleteSignature(f"A v2 signature needs SignatureMethod=HMAC-SHA1 and {', '.join(missing)}.")
    key = _known_key(store, query["AccessKeyId"], query.get("SecurityToken"), now)
    signed = dict(request.query)
    signed.update(request.form)
    expected = signing.rpc_v2_signature(signed, request.method, key.secret)
    if not _same(expected, query["Signature"]):
        raise SignatureDoesNotMatch("The request signature does not match. Check your AccessKey secret.")
    signing.check_request_time(query["Timestamp"], now, name="Timestamp")
    return key


def _principal(key: AccessKey) -> Principal:
    if key.kind == "root":
        return Principal(key.account_id, "root", f"acs:ram::{key.account_id}:root", key.id)
    p = key.principal
    return Principal(key.account_id, "assumed-role", p["arn"], key.id, role_name=p.get("role_name"),
                     role_id=p.get("role_id"), session_name=p.get("session_name"),
                     session_policy=p.get("session_policy"))
