"""The REST API's request models and orders, validated the way the sample's FastAPI service validates them.

The models are pydantic's (as in the sample), with bounds the sample lacks: names at most `MAX_NAME_CHARS`
characters, at most `MAX_ITEMS` items, quantities and prices with an upper limit, and no NaN or infinity (they
would make the total unanswerable as JSON). A body that does not validate becomes FastAPI's 422 document,
`{"detail": [{"type", "loc", "msg", "input", "ctx"?}, …]}` with `loc` starting at `body` or `query`.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from localcloud.orders.errors import Unprocessable

__all__ = [
    "MAX_ITEMS",
    "MAX_NAME_CHARS",
    "MAX_QUANTITY",
    "MAX_UNIT_PRICE",
    "ListQuery",
    "OrderCreate",
    "OrderItemIn",
    "OrderStatus",
    "new_order",
    "parse_order",
    "parse_query",
]

MAX_NAME_CHARS = 200
MAX_ITEMS = 100
MAX_QUANTITY = 1_000_000
MAX_UNIT_PRICE = 1_000_000_000.0


class OrderStatus(str, Enum):  # noqa: UP042 (the sample's FastAPI model, and the 422 message it gives)
    PENDING = "pending"
    PAID = "paid"
    CANCELLED = "cancelled"


class OrderItemIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    quantity: int = Field(gt=0, le=MAX_QUANTITY)
    unit_price: float = Field(gt=0, le=MAX_UNIT_PRICE, allow_inf_nan=False)


class OrderCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    customer_name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    items: list[OrderItemIn] = Field(min_length=1, max_length=MAX_ITEMS)


class ListQuery(BaseModel):
    customer_name: str | None = Field(default=None, max_length=MAX_NAME_CHARS)
    status: OrderStatus | None = None


def _plain(value: Any) -> Any:
    """A JSON-safe copy of an error's context or input (pydantic may put exceptions or NaN there)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


def _detail(error: ValidationError, where: str) -> list[dict[str, Any]]:
    detail = []
    for item in error.errors(include_url=False):
        entry = {"type": item["type"], "loc": [where, *item["loc"]], "msg": item["msg"], "input": _plain(item["input"])}
        if "ctx" in item:
            entry["ctx"] = _plain(item["ctx"])
        detail.append(entry)
    return detail


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json(body: bytes) -> Any:
    if not body.strip():
        raise Unprocessable([{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}])
    try:
        return json.loads(body, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        where, why = exc.pos, exc.msg
    except (ValueError, RecursionError) as exc:  # not UTF-8, NaN, a number too long, absurd nesting
        where, why = 0, str(exc)[:200] or type(exc).__name__
    raise Unprocessable([{"type": "json_invalid", "loc": ["body", where], "msg": "JSON decode error", "input": {},
                          "ctx": {"error": why}}])


def parse_order(body: bytes) -> OrderCreate:
    """The body of `POST /orders`; Unprocessable with FastAPI's detail otherwise."""
    try:
        return OrderCreate.model_validate(_json(body))
    except ValidationError as error:
        raise Unprocessable(_detail(error, "body")) from None


def parse_query(customer_name: str | None, status: str | None) -> ListQuery:
    """The query of `GET /orders`; Unprocessable with FastAPI's detail otherwise."""
    try:
        return ListQuery.model_validate({"customer_name": customer_name, "status": status})
    except ValidationError as error:
        raise Unprocessable(_detail(error, "query")) from None


def new_order(order_id: str, request: OrderCreate, now: float) -> dict[str, Any]:
    """The stored and answered order, as the sample makes it (`pending`, the total rounded to cents)."""
    items = [{"name": i.name, "quantity": i.quantity, "unit_price": i.unit_price} for i in request.items]
    created = datetime.fromtimestamp(now, tz=UTC).isoformat()
    return {"id": order_id, "customer_name": request.customer_name, "status": OrderStatus.PENDING.value,
            "items": items, "total_amount": round(sum(i.quantity * i.unit_price for i in request.items), 2),
            "created_at": created, "updated_at": created}
