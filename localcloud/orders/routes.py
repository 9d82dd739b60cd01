"""The order service's routes under `ORDER_SERVICE_PATH`, in localcloud's route table."""

from __future__ import annotations

from collections.abc import Callable

from starlette.routing import Route

from localcloud.orders.client import order_client
from localcloud.orders.handlers.api import create_order, delete_order, get_order, list_orders
from localcloud.orders.handlers.authorize import show_authorize, submit_authorize
from localcloud.orders.handlers.login import show_login, submit_login
from localcloud.orders.handlers.metadata import show_metadata
from localcloud.orders.handlers.token import token
from localcloud.orders.service import AUTHORIZE_PATH, LOGIN_PATH, METADATA_PATH, ORDER_SERVICE_PATH, TOKEN_PATH
from localcloud.orders.web import MAX_API_BODY, MAX_FORM_BODY, Handler, endpoint
from localcloud.store import Store
from localcloud.urls import LocalUrls

__all__ = ["order_routes"]

# (path below the service, handler, methods, how an oversized body is refused, body limit)
_ENDPOINTS: list[tuple[str, Handler, list[str], str, int]] = [
    (METADATA_PATH, show_metadata, ["GET"], "oauth", 0),
    (AUTHORIZE_PATH, show_authorize, ["GET"], "page", 0),
    (AUTHORIZE_PATH, submit_authorize, ["POST"], "page", MAX_FORM_BODY),
    (LOGIN_PATH, show_login, ["GET"], "page", 0),
    (LOGIN_PATH, submit_login, ["POST"], "page", MAX_FORM_BODY),
    (TOKEN_PATH, token, ["POST"], "oauth", MAX_FORM_BODY),
    ("/orders", list_orders, ["GET"], "api", 0),
    ("/orders", create_order, ["POST"], "api", MAX_API_BODY),
    ("/orders/{order_id}", get_order, ["GET"], "api", 0),
    ("/orders/{order_id}", delete_order, ["DELETE"], "api", 0),
]


def order_routes(store: Store, clock: Callable[[], float], urls: Callable[[], LocalUrls]) -> list[Route]:
    """Metadata, the authorize and login pages, token, and the orders API, each a route of its own."""
    order_client(store)  # the client secret exists from the first start, so `env` can show it at once
    return [Route(f"{ORDER_SERVICE_PATH}{path}", endpoint(store, clock, urls, handler, kind, limit), methods=methods)
            for path, handler, methods, kind, limit in _ENDPOINTS]
