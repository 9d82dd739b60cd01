"""The order service's errors, each answered in the shape its caller expects.

Tree::

    OrderServiceError           root
    ├── ApiError                the REST API, FastAPI's `{"detail": …}` (a string, or a list for 422)
    │   ├── Unauthorized        401  no Bearer token, or one that is unknown or expired
    │   ├── Forbidden           403  the token lacks the scope the call needs
    │   ├── NotFound            404  no such order (for this user)
    │   ├── Conflict            409  the user holds as many orders as the service keeps
    │   ├── PayloadTooLarge     413  a body larger than the service reads
    │   └── Unprocessable       422  a body or query that does not validate (FastAPI's list of errors)
    ├── OAuthError              the token endpoint, RFC 6749 §5.2 `{"error", "error_description"}`
    │   ├── InvalidRequest      400
    │   ├── InvalidClient       401  not order-client with its secret in the form (client_secret_post)
    │   ├── InvalidGrant        400  an unknown, used or expired code or refresh token
    │   ├── InvalidScope        400
    │   ├── UnsupportedGrantType 400
    │   └── UnsupportedResponseType 400
    ├── AuthorizeRedirect       an OAuthError sent back to the (already trusted) redirect URI, with the state
    └── PageError               an HTML page for the user: unknown client, untrusted redirect URI, stale form

Messages never echo a secret, a code or a token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

__all__ = [
    "ApiError",
    "AuthorizeRedirect",
    "Conflict",
    "Forbidden",
    "InvalidClient",
    "InvalidGrant",
    "InvalidRequest",
    "InvalidScope",
    "NotFound",
    "OAuthError",
    "OrderServiceError",
    "PageError",
    "PayloadTooLarge",
    "Unauthorized",
    "Unprocessable",
    "UnsupportedGrantType",
    "UnsupportedResponseType",
    "with_query",
]


class OrderServiceError(Exception):
    """Anything the order service answers with an error."""


class ApiError(OrderServiceError):
    status = 500

    def __init__(self, detail: str | list[dict[str, Any]], headers: dict[str, str] | None = None) -> None:
        super().__init__(detail if isinstance(detail, str) else "validation failed")
        self.detail = detail
        self.headers = dict(headers or {})


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class PayloadTooLarge(ApiError):
    status = 413


class Unprocessable(ApiError):
    status = 422


class OAuthError(OrderServiceError):
    error = "server_error"
    status = 400

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    def as_json(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    error = "invalid_client"
    status = 401


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


def with_query(uri: str, params: dict[str, str]) -> str:
    """`uri` with `params` added to its query (a redirect URI may already have one)."""
    return f"{uri}{'&' if '?' in uri else '?'}{urlencode(params)}"


class AuthorizeRedirect(OrderServiceError):
    """An authorization error the client learns at its redirect URI (RFC 6749 §4.1.2.1)."""

    def __init__(self, error: OAuthError, redirect_uri: str, state: str | None) -> None:
        super().__init__(error.description)
        self.oauth_error, self.redirect_uri, self.state = error, redirect_uri, state

    def location(self) -> str:
        params = self.oauth_error.as_json()
        if self.state is not None:
            params["state"] = self.state
        return with_query(self.redirect_uri, params)


class PageError(OrderServiceError):
    """Shown to the user as a page, because a redirect would send the answer somewhere untrusted."""

    def __init__(self, title: str, message: str, status: int = 400, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.title, self.message, self.status, self.retry_after = title, message, status, retry_after
