"""`GET|POST /logout`: the end_session_endpoint of OpenID Connect RP-Initiated Logout 1.0.

Whatever the parameters say, the browser's sign-in session at this realm ends: its record is deleted and its
cookie cleared. Then the browser goes back to the client (303), or sees the "signed out" page (see `logout`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from localcloud.oidc.errors import InvalidRequest
from localcloud.oidc.forms import parse_form, single_valued
from localcloud.oidc.logout import hint_claims, parse_logout_request, requesting_client_id, return_location
from localcloud.oidc.pages import signed_out_page
from localcloud.oidc.pending import BINDING_COOKIE, SESSION_COOKIE, end_session
from localcloud.oidc.realm import Realm
from localcloud.oidc.responses import clear_realm_cookie, redirect
from localcloud.oidc.tokens import jwks

__all__ = ["end_session_endpoint"]


def _params(request: Request, body: bytes) -> dict[str, str]:
    """The query (GET) or form (POST); an unreadable one is no parameters: the sign-out still happens."""
    try:
        if request.method == "POST":
            return parse_form(body, request.headers.get("content-type"))
        return single_valued(request.query_params.multi_items())
    except InvalidRequest:
        return {}


def _location(realm: Realm, request: Request, body: bytes) -> str | None:
    logout = parse_logout_request(_params(request, body))
    claims = hint_claims(logout.id_token_hint, jwks(realm.store, realm.name), realm.issuer) \
        if logout.id_token_hint else None
    return return_location(logout, requesting_client_id(logout, claims), realm.client)


def end_session_endpoint(realm: Realm, request: Request, body: bytes) -> Response:
    """Sign the browser out of this realm, then send it back to the client or show the "signed out" page."""
    end_session(realm, request.cookies.get(SESSION_COOKIE), request.cookies.get(BINDING_COOKIE))
    location = _location(realm, request, body)
    response = redirect(location, status=303) if location else signed_out_page(realm.name)
    clear_realm_cookie(realm, response, SESSION_COOKIE)
    return response
