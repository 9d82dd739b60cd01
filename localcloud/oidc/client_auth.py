"""Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3).

Public clients (a NativeApp) identify themselves with `client_id` and must not send a secret.
Confidential clients (WebApp, ServerApp, the DingTalk demo app) may send their secret by Basic or in the
form; a wrong one is `invalid_client`. Without a secret they are treated like public clients for the code
and refresh grants, because the sample's WebApp sends none and PKCE binds the code to its verifier.
"""

from __future__ import annotations

from dataclasses import dataclass

from localcloud.oidc.clients import OAuthClient, verify_client_secret
from localcloud.oidc.errors import InvalidClient, InvalidRequest
from localcloud.oidc.forms import basic_credentials
from localcloud.oidc.realm import Realm

__all__ = ["AUTH_METHODS", "ClientAuthentication", "authenticate_client"]

AUTH_METHODS = ("none", "client_secret_basic", "client_secret_post")


@dataclass(frozen=True)
class ClientAuthentication:
    client: OAuthClient
    method: str  # one of AUTH_METHODS

    @property
    def authenticated(self) -> bool:
        """Whether the client proved a secret (not just named itself)."""
        return self.method != "none"


def _presented(form: dict[str, str], authorization: str | None) -> tuple[str, str, str]:
    """`(client_id, secret, method)` as sent; one authentication method at most (RFC 6749 §2.3)."""
    basic = basic_credentials(authorization)
    if basic is None:
        secret = form.get("client_secret", "")
        return form.get("client_id", ""), secret, "client_secret_post" if secret else "none"
    if form.get("client_secret"):
        raise InvalidRequest("send the client secret either in the Authorization header or in the form, not both")
    if form.get("client_id") not in (None, basic[0]):
        raise InvalidRequest("client_id in the form differs from the one in the Authorization header")
    return basic[0], basic[1], "client_secret_basic" if basic[1] else "none"


def authenticate_client(realm: Realm, form: dict[str, str], authorization: str | None) -> ClientAuthentication:
    """The client making the request; InvalidClient if it is unknown or its secret is wrong."""
    client_id, secret, method = _presented(form, authorization)
    if not client_id:
        raise InvalidClient("name the client: client_id in the form, or HTTP Basic authentication")
    client = realm.client(client_id)
    if client is None:
        raise InvalidClient("unknown client_id")
    if secret and not client.confidential:
        raise InvalidClient(f"the {client.app_type} '{client_id}' is a public client: it must not send a secret")
    if secret and not verify_client_secret(realm.store, realm.name, client, secret):
        raise InvalidClient("the client secret is not valid")
    return ClientAuthentication(client, method)
