"""`GET /.well-known/oauth-authorization-server`: the sample's RFC 8414 metadata, on localcloud's addresses."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from localcloud.orders.service import AUTHORIZE_PATH, SCOPES, TOKEN_PATH, OrderService

__all__ = ["metadata_document", "show_metadata"]


def metadata_document(service: OrderService) -> dict[str, Any]:
    """The issuer and token endpoint on the loopback base (server-to-server), the authorize page on the public one."""
    return {
        "issuer": service.issuer,
        "authorization_endpoint": service.page_url(AUTHORIZE_PATH),
        "token_endpoint": service.endpoint(TOKEN_PATH),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
        "scopes_supported": list(SCOPES),
        "code_challenge_methods_supported": ["S256"],
    }


def show_metadata(service: OrderService, request: Request, body: bytes) -> Response:
    """The metadata document."""
    return JSONResponse(metadata_document(service), headers={"Cache-Control": "public, max-age=300"})
