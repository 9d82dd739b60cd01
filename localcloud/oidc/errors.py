"""Errors of the sign-in server: OAuth 2.0 error responses, and pages shown when no redirect is safe.

Tree::

    OAuthError                    root: answered as {"error", "error_description"} (RFC 6749 §5.2)
    ├── InvalidRequest            400  invalid_request
    ├── InvalidClient             401  invalid_client
    ├── InvalidGrant              400  invalid_grant
    ├── UnauthorizedClient        400  unauthorized_client
    ├── UnsupportedGrantType      400  unsupported_grant_type
    ├── UnsupportedResponseType   400  unsupported_response_type (authorize only, by redirect)
    ├── InvalidScope              400  invalid_scope
    ├── AccessDenied              403  access_denied (authorize only, by redirect)
    ├── LoginRequired             400  login_required (OIDC, prompt=none)
    ├── UserConsentRequired       400  consent_required (OIDC, prompt=none)
    ├── InvalidToken              401  invalid_token (RFC 6750, userinfo)
    └── InsufficientScope         403  insufficient_scope (RFC 6750, userinfo)
    AuthorizeRedirect             an OAuthError sent back to the client's redirect URI with its state
    BrowserError                  a page for the user: unknown client, untrusted redirect URI, stale form
    ├── SignInBurnt               429  a pending sign-in had too many wrong passwords: start again
    └── AccountThrottled          429  too many failures for this user name: wait `retry_after` seconds

The wire code is a class attribute; the message never echoes a secret or a token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

__all__ = [
    "AccessDenied",
    "AccountThrottled",
    "AuthorizeRedirect",
    "BrowserError",
    "InsufficientScope",
    "InvalidClient",
    "InvalidGrant",
    "InvalidRequest",
    "InvalidScope",
    "InvalidToken",
    "LoginRequired",
    "OAuthError",
    "SignInBurnt",
    "UnauthorizedClient",
    "UnsupportedGrantType",
    "UnsupportedResponseType",
    "UserConsentRequired",
    "with_query",
]


class OAuthError(Exception):
    """An OAuth 2.0 error; `error` is the RFC code, `status` the HTTP status of a direct answer."""

    error: str = "server_error"
    status: int = 400

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    def as_json(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.description}


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    error = "invalid_client"
    status = 401


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"


class AccessDenied(OAuthError):
    error = "access_denied"
    status = 403


class LoginRequired(OAuthError):
    error = "login_required"


class UserConsentRequired(OAuthError):
    error = "consent_required"


class InvalidToken(OAuthError):
    error = "invalid_token"
    status = 401


class InsufficientScope(OAuthError):
    error = "insufficient_scope"
    status = 403


def with_query(uri: str, params: dict[str, str]) -> str:
    """`uri` with `params` added to its query (a registered redirect URI may already have one)."""
    joiner = "&" if "?" in uri else "?"
    return f"{uri}{joiner}{urlencode(params)}"


class AuthorizeRedirect(Exception):
    """An authorization error the client learns about at its (already verified) redirect URI."""

    def __init__(self, error: OAuthError, redirect_uri: str, state: str | None) -> None:
        super().__init__(error.description)
        self.oauth_error = error
        self.redirect_uri = redirect_uri
        self.state = state

    def location(self) -> str:
        """The redirect target: RFC 6749 §4.1.2.1 error parameters plus the untouched state."""
        params = {"error": self.oauth_error.error, "error_description": self.oauth_error.description}
        if self.state is not None:
            params["state"] = self.state
        return with_query(self.redirect_uri, params)


class BrowserError(Exception):
    """Shown to the user as a page, because redirecting would send the answer somewhere untrusted."""

    def __init__(self, title: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.title = title
        self.message = message
        self.status = status


class SignInBurnt(BrowserError):
    """A pending sign-in request that took too many wrong passwords: no later answer on it counts."""

    def __init__(self) -> None:
        super().__init__("Too many attempts", "Too many attempts: start the sign-in again from the application.",
                         429)


class AccountThrottled(BrowserError):
    """Too many consecutive failures for one user name: every attempt waits `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many attempts", f"Too many attempts for this account: wait {retry_after} s, then "
                         "try again.", 429)
        self.retry_after = retry_after
