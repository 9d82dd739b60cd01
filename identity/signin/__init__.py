"""Sign-in: ID token verification, the provider's discovery and keys, and server-side login sessions.

Protocol logic (`id_token`, `sealing`) is pure; `provider` and `oauth_client` do the HTTP, `sessions` the
database, and `routes` the cookie. Errors are `SignInError` (an `IdentityError`).
"""

from typing import TYPE_CHECKING

from identity.lazy import lazy_exports

if TYPE_CHECKING:
    from identity.signin.errors import SignInError, UnknownSigningKey
    from identity.signin.id_token import display_name, verify_id_token
    from identity.signin.oauth_client import PublicOAuth2Client, token_error_message
    from identity.signin.provider import OidcProvider, ProviderMetadata
    from identity.signin.routes import BEGIN_PATH, CALLBACK_PATH, LOGOUT_PATH, SESSION_PATH, request_user, signin_routes
    from identity.signin.sessions import (
        APP_STATE_DIRNAME,
        SESSION_COOKIE,
        SIGNIN_COOKIE,
        TICKET_SECONDS,
        LoginSessionStore,
        SessionLookup,
    )

__all__ = [
    "APP_STATE_DIRNAME",
    "BEGIN_PATH",
    "CALLBACK_PATH",
    "LOGOUT_PATH",
    "SESSION_COOKIE",
    "SESSION_PATH",
    "SIGNIN_COOKIE",
    "TICKET_SECONDS",
    "LoginSessionStore",
    "OidcProvider",
    "ProviderMetadata",
    "PublicOAuth2Client",
    "SessionLookup",
    "SignInError",
    "UnknownSigningKey",
    "display_name",
    "request_user",
    "signin_routes",
    "token_error_message",
    "verify_id_token",
]

__getattr__ = lazy_exports(__name__, {
    "SignInError": "errors",
    "UnknownSigningKey": "errors",
    "display_name": "id_token",
    "verify_id_token": "id_token",
    "PublicOAuth2Client": "oauth_client",
    "token_error_message": "oauth_client",
    "OidcProvider": "provider",
    "ProviderMetadata": "provider",
    "BEGIN_PATH": "routes",
    "CALLBACK_PATH": "routes",
    "LOGOUT_PATH": "routes",
    "SESSION_PATH": "routes",
    "request_user": "routes",
    "signin_routes": "routes",
    "APP_STATE_DIRNAME": "sessions",
    "SESSION_COOKIE": "sessions",
    "SIGNIN_COOKIE": "sessions",
    "TICKET_SECONDS": "sessions",
    "LoginSessionStore": "sessions",
    "SessionLookup": "sessions",
})
