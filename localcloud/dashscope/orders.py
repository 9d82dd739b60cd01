"""What the local model makes of order prompts, and how it reports the order tools' results (pure).

The order tools are the AI Gateway's (the sample's order server): `listOrders`, `getOrder`, `createOrder` and
`deleteOrder`. One message asks for at most one of them, the strongest cue winning: delete, then create, then show
one order, then list. Arguments come from the message:

* "delete order 1a2b3c4d", "show order 1a2b3c4d": the order id after the word "order";
* "create an order for 2 coffees at 3.5 for Alice Chen": items as "<quantity> <name> at <unit price>" (several, with
  "and" or commas; plural names made singular), the customer after the last "for" that is not an item ("for me", or
  no name at all, is the signed-in user the system prompt names);
* "list my pending orders", "list orders for Alice Chen": a status and a customer name as filters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ORDER_TOOLS", "OrderIntent", "order_action", "order_intent", "order_summary"]

ORDER_TOOLS = ("listOrders", "getOrder", "createOrder", "deleteOrder")
_ID = r"#?([A-Za-z0-9][A-Za-z0-9_-]{2,63})"
_DELETE = re.compile(rf"\b(?:delete|remove)\s+(?:the\s+|my\s+|this\s+)?order\s+{_ID}", re.IGNORECASE)
_CREATE = re.compile(r"\b(?:create|place|make|add|submit|new)\b[^.?!]*?\border\b", re.IGNORECASE)
_SHOW = re.compile(rf"\border\s+(?:no\.?\s*|number\s+|id\s+)?{_ID}", re.IGNORECASE)
_LIST = re.compile(r"\b(?:(?:list|show|see|view|display|check|get|fetch)\b[^.?!]*?\borders\b|my\s+orders\b|"
                   r"what\s+orders\b|orders\s+do\s+i\s+have)", re.IGNORECASE)
_ITEM = re.compile(r"(\d{1,6})\s+(?:x\s+)?([A-Za-z][A-Za-z -]{0,60}?)\s+(?:at|@)\s*[$¥€]?\s*(\d{1,9}(?:\.\d{1,4})?)"
                   r"(?:\s*(?:each|apiece|per\s+\w+))?", re.IGNORECASE)
_CUSTOMER = re.compile(r"\bfor\s+(?!\d)([^\W\d_][\w .'-]{0,80}?)\s*(?:[,.;!?]|$)", re.IGNORECASE)
_ME = re.compile(r"^(?:me|myself|us)$", re.IGNORECASE)
_STATUS = re.compile(r"\b(pending|paid|cancelled|canceled)\b", re.IGNORECASE)
_NAMED = re.compile(r"\b(?:for|of|by|from)\s+([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)")


@dataclass(frozen=True)
class OrderIntent:
    tool: str
    arguments: dict[str, Any] = field(hash=False)
    position: int = 0


def _singular(name: str, quantity: int) -> str:
    name = " ".join(name.split())
    if quantity == 1 or not name.lower().endswith("s") or name.lower().endswith("ss"):
        return name
    if re.search(r"(?:ch|sh|x|ss)es$", name, re.IGNORECASE):
        return name[:-2]
    return name[:-1]


def _number(text: str) -> int | float:
    return float(text) if "." in text else int(text)


def _items(text: str) -> tuple[list[dict[str, Any]], int]:
    """The items a create asks for, and where the last one ends."""
    items, end = [], 0
    for found in _ITEM.finditer(text):
        quantity = int(found.group(1))
        items.append({"name": _singular(found.group(2), quantity), "quantity": quantity,
                      "unit_price": _number(found.group(3))})
        end = found.end()
    return items, end


def _customer(text: str, user_name: str) -> str:
    names = [found.group(1).strip() for found in _CUSTOMER.finditer(text)]
    name = names[-1] if names else ""
    return user_name if not name or _ME.match(name) else name


def _create(text: str, at: int, user_name: str) -> OrderIntent:
    items, end = _items(text)
    customer = _customer(text[end:] if items else text, user_name)
    arguments: dict[str, Any] = {"customer_name": customer} if customer else {}
    return OrderIntent("createOrder", {**arguments, "items": items}, at)


def _listing(text: str, at: int) -> OrderIntent:
    arguments: dict[str, Any] = {}
    if status := _STATUS.search(text):
        arguments["status"] = status.group(1).lower().replace("canceled", "cancelled")
    if named := _NAMED.search(text[at:]):
        arguments["customer_name"] = named.group(1)
    return OrderIntent("listOrders", arguments, at)


def order_intent(instruction: str, user_name: str = "") -> OrderIntent | None:
    """The order tool call `instruction` asks for, if any (`user_name`: whom "me" means)."""
    if found := _DELETE.search(instruction):
        return OrderIntent("deleteOrder", {"order_id": found.group(1)}, found.start())
    if found := _CREATE.search(instruction):
        return _create(instruction, found.start(), user_name)
    if (found := _SHOW.search(instruction)) and any(ch.isdigit() for ch in found.group(1)):
        return OrderIntent("getOrder", {"order_id": found.group(1)}, found.start())
    if found := _LIST.search(instruction):
        return _listing(instruction, found.start())
    return None


# -- reporting ---------------------------------------------------------------------------------------------------
def order_action(tool: str, arguments: Mapping[str, Any]) -> str | None:
    """What the call was meant to do, for "I couldn't …"; None for a tool that is not an order tool."""
    order = arguments.get("order_id") or "that order"
    actions = {"listOrders": "list your orders", "getOrder": f"look up order {order}",
               "deleteOrder": f"delete order {order}",
               "createOrder": f"create an order for {arguments.get('customer_name') or 'that customer'}"}
    return actions.get(tool)


def _money(value: Any) -> str:
    return f"{value:g}" if isinstance(value, int | float) else str(value)


def _item_text(item: Any) -> str:
    if not isinstance(item, Mapping):
        return str(item)
    return f"{item.get('quantity', '?')} × {item.get('name', '?')} at {_money(item.get('unit_price', '?'))}"


def _order_line(order: Mapping[str, Any]) -> str:
    items = ", ".join(_item_text(item) for item in order.get("items") or [])
    return (f"{order.get('id', '?')}: {order.get('customer_name', '?')}, {items or 'no items'} "
            f"(total {_money(order.get('total_amount', '?'))}, {order.get('status', '?')})")


def _parsed(content: str) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return None


def order_summary(tool: str, content: str, arguments: Mapping[str, Any]) -> str | None:
    """A successful order tool's result in a sentence or a short list; None when it is not one of these."""
    data = _parsed(content)
    if tool == "listOrders" and isinstance(data, list):
        orders = [_order_line(order) for order in data if isinstance(order, Mapping)]
        if not orders:
            return "There are no orders."
        lines = "\n".join(f"- {line}" for line in orders[:20])
        more = f"\n- …and {len(orders) - 20} more" if len(orders) > 20 else ""
        return f"You have {len(orders)} order{'s' if len(orders) != 1 else ''}:\n{lines}{more}"
    if tool in ("getOrder", "createOrder") and isinstance(data, Mapping) and data.get("id"):
        return f"{'Created order' if tool == 'createOrder' else 'Order'} {_order_line(data)}."
    if tool == "deleteOrder":
        return f"Deleted order {arguments.get('order_id') or ''}.".replace(" .", ".")
    return None
