"""Orders in localcloud's store: one resource of kind `orders.order` per order, partitioned by the user's subject.

A user's orders are the resources whose account column is their subject (the demo user's `sub`, the same subject
the `aliyun` realm puts in their tokens), so no query can reach another user's orders, and they survive a restart
like every other resource (`POST /_localcloud/reset` forgets them). Ids are the sample's 8 hex digits, unique per
user; a user keeps at most `MAX_ORDERS_PER_USER`.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from localcloud.orders.errors import Conflict
from localcloud.store import Store

if TYPE_CHECKING:  # pydantic's models load with the first order call, not with localcloud
    from localcloud.orders.models import ListQuery, OrderCreate

__all__ = ["MAX_ORDERS_PER_USER", "create_order", "delete_order", "get_order", "list_orders"]

MAX_ORDERS_PER_USER = 1000
_KIND = "orders.order"


def create_order(store: Store, sub: str, request: OrderCreate, now: float) -> dict[str, Any]:
    """Store a new pending order for the user; Conflict when they already hold the most the service keeps."""
    with store.locked():
        if len(store.list(_KIND, sub)) >= MAX_ORDERS_PER_USER:
            raise Conflict(f"Too many orders: a user keeps at most {MAX_ORDERS_PER_USER}; delete some first")
        while True:  # 8 hex digits: a clash is rare, and a retry settles it
            order = _new_order(secrets.token_hex(4), request, now)
            if store.insert(_KIND, sub, order["id"], order):
                return order


def list_orders(store: Store, sub: str, query: ListQuery) -> list[dict[str, Any]]:
    """The user's orders in creation order, filtered as the sample filters (an empty name filters nothing)."""
    orders = store.list(_KIND, sub)
    if query.customer_name:
        orders = [o for o in orders if o["customer_name"] == query.customer_name]
    if query.status is not None:
        orders = [o for o in orders if o["status"] == query.status.value]
    return orders


def get_order(store: Store, sub: str, order_id: str) -> dict[str, Any] | None:
    """One of the user's orders, or None."""
    return store.get(_KIND, sub, order_id)


def delete_order(store: Store, sub: str, order_id: str) -> bool:
    """Delete one of the user's orders; False when they have none with that id."""
    return store.delete(_KIND, sub, order_id)


def _new_order(order_id: str, request: OrderCreate, now: float) -> dict[str, Any]:
    from localcloud.orders.models import new_order

    return new_order(order_id, request, now)
