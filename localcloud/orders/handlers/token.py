"""`POST /oauth/token`: the authorization_code and refresh_token grants, for order-client with client_secret_post.

The client authenticates with `client_id` and `client_secret` in the form, the only method the metadata lists; an
`Authorization` header instead, or a wrong pair, is 401 `invalid_client`. A code is redeemed once; `redirect_uri`,
when sent, must be the authorized one; a code whose request carried a PKCE challenge needs its `code_verifier`.
A refresh token is redeemed once too: the answer carries the next one, and the old one stops working.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from localcloud.orders.client import ORDER_CLIENT_ID, client_matches
from localcloud.orders.errors import InvalidClient, InvalidGrant, InvalidRequest, UnsupportedGrantType
from localcloud.orders.forms import parse_form
from localcloud.orders.grants import issue_tokens, redeem_code, rotate_refresh
from localcloud.orders.service import OrderService
from localcloud.orders.web import token_json

__all__ = ["token"]

_MAX_VALUE = 4096


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise InvalidRequest(f"the parameter '{name}' is required")
    if len(value) > _MAX_VALUE:
        raise InvalidRequest(f"the parameter '{name}' is too long")
    return value


def _authenticate(service: OrderService, request: Request, form: dict[str, str]) -> None:
    if request.headers.get("authorization"):
        raise InvalidClient("Invalid client credentials: send client_id and client_secret in the form "
                            "(client_secret_post), not in an Authorization header")
    if not client_matches(service.store, form.get("client_id", ""), form.get("client_secret", "")):
        raise InvalidClient("Invalid client credentials")


def _verifier_matches(verifier: str, challenge: str) -> bool:
    digest = hashlib.sha256(verifier.encode("utf-8")).digest()
    return hmac.compare_digest(base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"), challenge)


def _authorization_code(service: OrderService, form: dict[str, str]) -> dict[str, Any]:
    code = redeem_code(service, _required(form, "code"))
    if form.get("redirect_uri") and form["redirect_uri"] != code.redirect_uri:
        raise InvalidGrant("redirect_uri differs from the one the code was issued for")
    if code.code_challenge is not None and not _verifier_matches(_required(form, "code_verifier"),
                                                                 code.code_challenge):
        raise InvalidGrant("code_verifier does not match the code_challenge")
    return issue_tokens(service, code.grant)


def _refresh_token(service: OrderService, form: dict[str, str]) -> dict[str, Any]:
    scopes = tuple(dict.fromkeys(form.get("scope", "").split()))
    return issue_tokens(service, rotate_refresh(service, _required(form, "refresh_token"), ORDER_CLIENT_ID, scopes))


_GRANTS: dict[str, Callable[[OrderService, dict[str, str]], dict[str, Any]]] = {
    "authorization_code": _authorization_code,
    "refresh_token": _refresh_token,
}


def token(service: OrderService, request: Request, body: bytes) -> Response:
    """Exchange a code or a refresh token for tokens; errors are RFC 6749 §5.2 JSON (rendered by the endpoint)."""
    form = parse_form(body, request.headers.get("content-type"))
    _authenticate(service, request, form)
    grant_type = form.get("grant_type", "authorization_code")  # the sample's default
    if grant_type not in _GRANTS:
        raise UnsupportedGrantType(f"Unsupported grant_type: {grant_type[:64]}")
    return token_json(_GRANTS[grant_type](service, form))
