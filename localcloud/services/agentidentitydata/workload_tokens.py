"""Workload access tokens: issued for a workload identity (optionally on behalf of a user), and checked.

A workload access token is an RS256 JWT signed by localcloud's data-plane key: unforgeable, expiring,
and readable by clients for its lifetime. The real token format is not published; this one follows the
SDK's fields (workload ARN, user id, the user JWT's claims).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from localcloud import arns, jose
from localcloud.rpc.errors import InvalidParameter
from localcloud.rpc.service import Call
from localcloud.services.agentidentity.records import IDENTITY_PROVIDER, WORKLOAD_IDENTITY, fetch
from localcloud.services.agentidentitydata import provider_http
from localcloud.services.agentidentitydata.errors import InvalidWorkloadAccessToken

__all__ = ["WorkloadToken", "issue", "resolve", "verify_user_jwt"]

_KEY_NAME = "agentidentity-wat"
_ISSUER = "localcloud:agentidentitydata"
_AUDIENCE = "agentidentitydata"
# Assumed lifetime (the API does not say); never beyond the user token it was exchanged for.
LIFETIME_SECONDS = 3600


@dataclass(frozen=True)
class WorkloadToken:
    """What a verified workload access token says."""

    account: str
    workload: str
    workload_arn: str
    user_id: str | None
    user_claims: dict[str, Any] | None
    expires_at: float


def issue(call: Call, workload: dict[str, Any], user_id: str | None = None,
          user_claims: dict[str, Any] | None = None) -> str:
    """A token for `workload`, bound to `user_id` when given."""
    expires = call.now + LIFETIME_SECONDS
    if user_claims and isinstance(user_claims.get("exp"), int | float):
        expires = min(expires, float(user_claims["exp"]))
    claims = {"iss": _ISSUER, "aud": _AUDIENCE, "sub": workload["WorkloadIdentityArn"], "acct": call.account,
              "wid": workload["WorkloadIdentityName"], "iat": int(call.now), "exp": int(expires),
              "jti": uuid.uuid4().hex}
    if user_id is not None:
        claims["uid"] = user_id
    if user_claims is not None:
        claims["ujwt"] = {k: user_claims.get(k) for k in ("iss", "sub", "aud", "jti")}
    return jose.sign_jwt(jose.signing_key(call.store, _KEY_NAME), claims)


def resolve(call: Call, token: str) -> tuple[WorkloadToken, dict[str, Any]]:
    """The verified token and its (still existing) workload identity; the caller's account must match."""
    key = jose.signing_key(call.store, _KEY_NAME)
    try:
        claims = jose.verify_jwt(token, {"keys": [key.public_jwk()]}, issuer=_ISSUER, audiences=[_AUDIENCE],
                                 now=call.now, leeway=0)
    except jose.JwtError as exc:
        if "expired" in str(exc):
            raise InvalidWorkloadAccessToken("The workload access token has expired: get a new one.",
                                             code="InvalidWorkloadAccessToken.Expired") from None
        raise InvalidWorkloadAccessToken(f"The workload access token is not valid: {exc}.") from None
    account = claims.get("acct", "")
    if call.caller.kind != "anonymous" and account != call.account:
        raise InvalidWorkloadAccessToken("The workload access token belongs to another account.")
    workload = call.store.get(WORKLOAD_IDENTITY.store_kind, account, claims.get("wid", ""))
    if workload is None or workload["WorkloadIdentityArn"] != claims["sub"]:
        raise InvalidWorkloadAccessToken("The workload identity of this token no longer exists.")
    parsed = WorkloadToken(account, workload["WorkloadIdentityName"], claims["sub"], claims.get("uid"),
                           claims.get("ujwt"), float(claims["exp"]))
    return parsed, workload


def verify_user_jwt(call: Call, workload: dict[str, Any], token: str) -> dict[str, Any]:
    """The claims of a user's ID token, checked against the identity provider bound to the workload."""
    provider_name = workload.get("IdentityProviderName")
    if not provider_name:
        raise InvalidParameter("UserToken", f"the workload identity {workload['WorkloadIdentityName']} has no "
                               "identity provider to check user tokens against.")
    provider = fetch(call, IDENTITY_PROVIDER, provider_name)
    document = provider_http.discovery(provider["DiscoveryURL"], call.now)
    audiences = provider.get("AllowedAudience") or []
    for refresh in (False, True):  # one refetch of the JWKS covers a provider's key rotation
        keys = provider_http.jwks(document["jwks_uri"], call.now, refresh=refresh)
        try:
            return jose.verify_jwt(token, keys, issuer=document["issuer"], audiences=audiences, now=call.now)
        except jose.JwtError as exc:
            if refresh or "key id" not in str(exc):
                raise InvalidParameter("UserToken", f"the user token was rejected: {exc}.") from None
    raise AssertionError("unreachable")


def _workload(call: Call) -> dict[str, Any]:
    return fetch(call, WORKLOAD_IDENTITY, call.params.required("WorkloadIdentityName"))


def get_workload_access_token(call: Call) -> dict[str, Any]:
    """A token for the workload itself, acting for no user."""
    workload = _workload(call)
    return {"WorkloadAccessToken": issue(call, workload), "WorkloadIdentityArn": workload["WorkloadIdentityArn"]}


def get_workload_access_token_for_user_id(call: Call) -> dict[str, Any]:
    """A token for the workload acting for a user the caller vouches for by id."""
    workload = _workload(call)
    user_id = call.params.required("UserId", max_len=256)
    return {"WorkloadAccessToken": issue(call, workload, user_id),
            "WorkloadIdentityArn": workload["WorkloadIdentityArn"], "UserContext": {"UserId": user_id}}


def get_workload_access_token_for_jwt(call: Call) -> dict[str, Any]:
    """A token for the workload acting for the user whose ID token is verified here."""
    workload = _workload(call)
    claims = verify_user_jwt(call, workload, call.params.required("UserToken", max_len=16384))
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    jwt_claims = {"Issuer": claims["iss"], "Subject": claims["sub"], "Audiences": audiences, "JTI": claims.get("jti")}
    return {"WorkloadAccessToken": issue(call, workload, str(claims["sub"]), claims),
            "WorkloadIdentityArn": workload["WorkloadIdentityArn"], "UserContext": {"JwtClaims": jwt_claims}}


def workload_arn(call: Call) -> str:
    """The RAM resource of the named workload identity."""
    return arns.workload_identity_arn(call.region, call.account, call.params.str("WorkloadIdentityName") or "*")
