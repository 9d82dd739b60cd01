"""Who is calling the agent service: always a verified signed-in user, never a name taken on trust.

`Authorization: Bearer <ID token>`, checked as sign-in checks it (the provider's JWKS, `iss`, `aud` = the inbound
application's id, `exp`; no nonce, as the token answers no sign-in here). Or, for the sample's backend in
agentScope mode, `Authorization: Bearer <AGENT_BEARER_TOKEN>` (when the service has one) with the ID token in the
request's `user_id`: the shared token says the backend may speak for users, the ID token says which one.
"""

from __future__ import annotations

import functools
import hmac
import time

from identity.errors import IdentityError
from identity.provision import read_config
from identity.settings import Settings
from identity.signin import OidcProvider
from identity.users import SignedInUser

__all__ = ["CallerRefused", "bearer_of", "verify_caller"]

_MAX_TOKEN_CHARS = 16_384


class CallerRefused(Exception):
    """The request names no verified user (401) or the service cannot verify anyone yet (503)."""

    def __init__(self, message: str, status: int = 401, code: str = "invalid_token") -> None:
        super().__init__(message)
        self.message, self.status, self.code = message, status, code


def bearer_of(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and 0 < len(token) <= _MAX_TOKEN_CHARS else None


@functools.lru_cache(maxsize=2)
def _provider(discovery_url: str) -> OidcProvider:
    return OidcProvider(discovery_url)


def verify_caller(settings: Settings, discovery_url: str, authorization: str | None,
                  user_id: object = None) -> SignedInUser:
    """The verified user this request acts for; CallerRefused saying why not."""
    token = bearer_of(authorization)
    if token is None:
        raise CallerRefused("Send the signed-in user's ID token: `Authorization: Bearer <ID token>`.",
                            code="invalid_request")
    shared = settings.agent_bearer_token
    if shared and hmac.compare_digest(token.encode(), shared.encode()):
        if not isinstance(user_id, str) or not 0 < len(user_id) <= _MAX_TOKEN_CHARS:
            raise CallerRefused("With the service's shared bearer token, `user_id` must carry the user's ID token.")
        token = user_id
    client_id = read_config(settings.config_json).get("inbound_app_id")
    if not client_id:
        raise CallerRefused("The cloud resources are not provisioned yet, so no sign-in can be verified: open the "
                            "dashboard's Setup page and press Provision.", 503, "not_provisioned")
    try:
        return _provider(discovery_url).verify(token, client_id=str(client_id), nonce=None, now=time.time())
    except IdentityError as error:
        raise CallerRefused(f"The ID token was refused: {error}") from None
