"""Data-plane errors beyond the shared RPC tree (codes in the real services' style)."""

from __future__ import annotations

from localcloud.rpc.errors import ServiceError

__all__ = ["ConsentSessionError", "InvalidWorkloadAccessToken", "ProviderRefused", "ProviderUnavailable",
           "SessionUserMismatch"]


class InvalidWorkloadAccessToken(ServiceError):
    """The workload access token is malformed, forged, expired or for a workload that is gone."""

    code = "InvalidWorkloadAccessToken"
    status = 400


class ConsentSessionError(ServiceError):
    """A consent session that cannot be used: unknown, expired, declined, or not ready yet."""

    status = 400

    def __init__(self, why: str, message: str) -> None:
        super().__init__(message, code=f"InvalidSession.{why}")


class SessionUserMismatch(ServiceError):
    """Someone other than the user who started a consent session tried to complete or read it."""

    code = "Forbidden.SessionUserMismatch"
    status = 403


class ProviderUnavailable(ServiceError):
    """An identity or OAuth provider did not answer as it should (discovery, JWKS or token endpoint)."""

    code = "ServiceUnavailable.Provider"
    status = 503


class ProviderRefused(ProviderUnavailable):
    """The provider answered, with an OAuth error: the request (its scopes, grant) or the credential provider's
    client is wrong, which a retry will not fix. A client error (4xx), not an outage (5xx)."""

    code = "OperationDenied.Provider"
    status = 400
