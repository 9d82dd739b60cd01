"""Who calls the gateway: the workload access token (WAT) of `Authorization: Bearer`, verified by the data plane.

The real plugin asks the data plane to verify the token. localcloud's gateway runs beside its data plane and calls
the same verification in process (`workload_tokens.resolve`: signature, expiry, the workload identity still
existing), as a caller of the gateway's own account, so a token for another account's workload is refused.

The token must act for a user: the Cedar principal is that user (`AgentIdentity::OAuthUser::"<id>"`), and the
downstream token is the user's. The id is the user's subject: the `sub` of the ID token the workload exchanged
(GetWorkloadAccessTokenForJWT), or the `UserId` of GetWorkloadAccessTokenForUserId. For localcloud's sign-in server
that is the user's numeric account id, the role `user_xxxx` plays for Alibaba Cloud's user pools.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from localcloud.gateway.errors import Unauthenticated, request_id
from localcloud.rpc.params import Params
from localcloud.rpc.service import Call, Principal
from localcloud.services.agentidentitydata import workload_tokens
from localcloud.services.agentidentitydata.errors import InvalidWorkloadAccessToken
from localcloud.store import Store
from localcloud.urls import LocalUrls

__all__ = ["MAX_TOKEN_CHARS", "Caller", "bearer_token", "in_process_call", "verify_caller"]

# As the data plane bounds a WorkloadAccessToken parameter.
MAX_TOKEN_CHARS = 16384


@dataclass(frozen=True)
class Caller:
    """A verified caller: the workload identity acting, and the user it acts for."""

    account: str
    workload: str
    workload_arn: str
    user_id: str
    issuer: str | None  # the user token's issuer; None for a token vouched for by user id
    expires_at: float
    token: str = field(repr=False)  # the WAT itself: handed to the data plane only, never upstream or to logs


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1), else None."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def in_process_call(action: str, params: dict[str, str], *, store: Store, account: str, caller_arn: str, now: float,
                    region: str, urls: LocalUrls) -> Call:
    """A data-plane call made by the gateway itself, in process: a caller of the gateway's own account."""
    principal = Principal(account_id=account, kind="service", arn=caller_arn)
    return Call(action, Params(params), principal, store, now, region, request_id(), urls)


def verify_caller(authorization: str | None, *, store: Store, account: str, gateway: str, now: float, region: str,
                  urls: LocalUrls) -> Caller:
    """The caller an `Authorization` header names; Unauthenticated when it names none this account accepts."""
    token = bearer_token(authorization)
    if token is None:
        raise Unauthenticated("Send the workload access token as Authorization: Bearer <token>.", missing=True)
    if len(token) > MAX_TOKEN_CHARS:
        raise Unauthenticated(f"The workload access token is longer than {MAX_TOKEN_CHARS} characters.")
    call = in_process_call("VerifyWorkloadAccessToken", {}, store=store, account=account, caller_arn=gateway,
                           now=now, region=region, urls=urls)
    try:
        verified, _workload = workload_tokens.resolve(call, token)
    except InvalidWorkloadAccessToken as error:
        raise Unauthenticated(error.message) from None
    if not verified.user_id:
        raise Unauthenticated("The workload access token acts for no user: get one for the signed-in user "
                              "(GetWorkloadAccessTokenForJWT).")
    issuer = (verified.user_claims or {}).get("iss")
    return Caller(verified.account, verified.workload, verified.workload_arn, verified.user_id,
                  str(issuer) if issuer else None, verified.expires_at, token)
