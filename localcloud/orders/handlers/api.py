"""The orders REST API of the sample: `POST /orders`, `GET /orders`, `GET /orders/{id}`, `DELETE /orders/{id}`.

Every call needs `Authorization: Bearer <access token>` of this service, unexpired (else 401 with the sample's three
messages), and the scope the call needs: `orders:read` to list and get, `orders:write` to create and delete (else 403
`Insufficient scope: orders:… required`). The caller sees the orders of the user the token was granted for, only.
Checked in that order, then the input (422): an unauthorized caller learns nothing about what would validate.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from localcloud.orders import records
from localcloud.orders.errors import Forbidden, NotFound, Unauthorized
from localcloud.orders.grants import AccessToken, access_token
from localcloud.orders.service import OrderService

__all__ = ["create_order", "delete_order", "get_order", "list_orders"]

_BEARER = "Bearer "  # the sample compares the prefix exactly
_MAX_TOKEN_CHARS = 512
_MAX_ID_CHARS = 64


def _unauthorized(message: str, error: str | None = None) -> Unauthorized:
    challenge = 'Bearer realm="order-service"' + (f', error="{error}"' if error else "")
    return Unauthorized(message, {"WWW-Authenticate": challenge})


def _caller(service: OrderService, request: Request, scope: str) -> AccessToken:
    """The live access token of the request, holding `scope`."""
    authorization = request.headers.get("authorization", "")
    if not authorization.startswith(_BEARER):
        raise _unauthorized("Missing or invalid Authorization header")
    raw = authorization[len(_BEARER):]
    token = access_token(service, raw) if 0 < len(raw) <= _MAX_TOKEN_CHARS else None
    if token is None:
        raise _unauthorized("Invalid token", "invalid_token")
    if token.is_expired(service.now):
        raise _unauthorized("Token expired", "invalid_token")
    if not token.allows(scope):
        raise Forbidden(f"Insufficient scope: {scope} required")
    return token


def _order_id(request: Request) -> str:
    return str(request.path_params["order_id"])


def _not_found(order_id: str) -> NotFound:
    shown = order_id if len(order_id) <= _MAX_ID_CHARS else f"{order_id[:_MAX_ID_CHARS]}…"
    return NotFound(f"Order {shown} not found")


def create_order(service: OrderService, request: Request, body: bytes) -> Response:
    """`POST /orders` → 201 and the new order."""
    token = _caller(service, request, "orders:write")
    from localcloud.orders.models import parse_order  # pydantic: loaded with the first order call

    order = records.create_order(service.store, token.grant.sub, parse_order(body), service.now)
    return JSONResponse(order, status_code=201)


def list_orders(service: OrderService, request: Request, body: bytes) -> Response:
    """`GET /orders?customer_name=&status=` → the user's orders."""
    token = _caller(service, request, "orders:read")
    from localcloud.orders.models import parse_query

    query = parse_query(request.query_params.get("customer_name"), request.query_params.get("status"))
    return JSONResponse(records.list_orders(service.store, token.grant.sub, query))


def get_order(service: OrderService, request: Request, body: bytes) -> Response:
    """`GET /orders/{order_id}` → the order, or 404."""
    token = _caller(service, request, "orders:read")
    order = records.get_order(service.store, token.grant.sub, _order_id(request))
    if order is None:
        raise _not_found(_order_id(request))
    return JSONResponse(order)


def delete_order(service: OrderService, request: Request, body: bytes) -> Response:
    """`DELETE /orders/{order_id}` → 204, or 404."""
    token = _caller(service, request, "orders:write")
    if not records.delete_order(service.store, token.grant.sub, _order_id(request)):
        raise _not_found(_order_id(request))
    return Response(status_code=204)
