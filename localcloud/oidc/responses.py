"""Response helpers shared by the endpoints: token JSON, OAuth errors, redirects and realm cookies."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, RedirectResponse, Response

from localcloud.oidc.errors import InvalidClient, InvalidToken, OAuthError
from localcloud.oidc.pages import PAGE_HEADERS
from localcloud.oidc.realm import Realm

__all__ = ["NO_STORE", "clear_realm_cookie", "oauth_error", "redirect", "set_realm_cookie", "token_json"]

# RFC 6749 §5.1: token responses must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def token_json(body: dict[str, Any], status: int = 200) -> JSONResponse:
    """A JSON answer carrying tokens or token metadata, never cached."""
    return JSONResponse(body, status_code=status, headers=NO_STORE)


def oauth_error(realm: Realm, error: OAuthError) -> JSONResponse:
    """An RFC 6749 §5.2 error document; a 401 says how to authenticate (RFC 6749 §5.2, RFC 6750 §3)."""
    headers = dict(NO_STORE)
    if isinstance(error, InvalidClient):
        headers["WWW-Authenticate"] = f'Basic realm="{realm.issuer}"'
    elif error.status in (401, 403) or isinstance(error, InvalidToken):
        headers["WWW-Authenticate"] = (f'Bearer realm="{realm.issuer}", error="{error.error}", '
                                       f'error_description="{error.description}"')
    return JSONResponse(error.as_json(), status_code=error.status, headers=headers)


def redirect(location: str, status: int = 302) -> RedirectResponse:
    """A redirect (302 to the client's redirect URI) that is never cached and leaks no referrer."""
    return RedirectResponse(location, status_code=status, headers=PAGE_HEADERS)


def set_realm_cookie(realm: Realm, response: Response, name: str, value: str, max_age: int | None) -> None:
    """An HttpOnly, SameSite=Lax cookie scoped to the realm's pages; `max_age=None` lasts until the browser closes."""
    response.set_cookie(name, value, max_age=max_age, path=realm.cookie_path, httponly=True, samesite="lax",
                        secure=realm.secure_cookies)


def clear_realm_cookie(realm: Realm, response: Response, name: str) -> None:
    """Make the browser drop a realm cookie (Max-Age=0, with the attributes it was set with)."""
    response.delete_cookie(name, path=realm.cookie_path, httponly=True, samesite="lax", secure=realm.secure_cookies)
