"""Sign-in: ID token verification, the provider's discovery and keys, and server-side login sessions.

Protocol logic (`id_token`, `sealing`) is pure; `provider` and `oauth_client` do the HTTP, `sessions` the
database, and `routes` the cookie. Errors are `SignInError` (an `IdentityError`).
"""

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
