"""The Cedar request an AI Gateway tool call becomes (WIRE §10.2), in Cedar's JSON forms; pure, no engine.

* principal `AgentIdentity::OAuthUser::"<user id>"` with the attributes `Issuer` and `actor` (the workload
  identity's ARN; left out when no workload acts, so `principal has actor` is false);
* action `AIGateway::Action::"mcp-servers.<server>.<tool>"`;
* resource `AIGateway::Gateway::"<gateway ARN>"`;
* `context.input`: the call's arguments, and `context.sourceIp` when the caller's address is given (Alibaba's
  documentation shows it in a condition: `ip(context.sourceIp).isInRange(ip("192.168.1.0/24"))`).

JSON values become Cedar values this way: strings, booleans and integers as themselves; arrays as sets, objects
as records; a number with no fractional part as an integer (JSON Schema's own reading of `3.0`); other numbers as
`decimal` when Cedar's decimal holds them exactly (at most 4 decimal places), else refused; `null` leaves the
attribute (or set element) out, since Cedar has no null. An object with a key Cedar's JSON reads as an escape
(`__entity`, `__extn`, `__expr`) is refused: a caller must not turn an argument into an entity reference. So are
arguments nested deeper than 64 levels (Cedar's own JSON reader stops at 128).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from localcloud.cedar.errors import UnrepresentableInput

__all__ = [
    "ACTION_TYPE",
    "PRINCIPAL_TYPE",
    "RESOURCE_TYPE",
    "CedarRequest",
    "build_request",
    "cedar_value",
    "tool_action",
    "uid_literal",
]

PRINCIPAL_TYPE = "AgentIdentity::OAuthUser"
ACTION_TYPE = "AIGateway::Action"
RESOURCE_TYPE = "AIGateway::Gateway"

_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_DECIMAL_LIMIT = Decimal("922337203685477.5807")
_RESERVED_KEYS = frozenset({"__entity", "__extn", "__expr"})
_MAX_DEPTH = 64


def tool_action(server: str, tool: str) -> str:
    """The Cedar action id of an MCP tool behind the gateway: `mcp-servers.<server>.<tool>`."""
    return f"mcp-servers.{server}.{tool}"


@dataclass(frozen=True)
class CedarRequest:
    """One authorization request in the engine's JSON forms."""

    principal: dict[str, str]
    action: dict[str, str]
    resource: dict[str, str]
    context: dict[str, Any] | None  # None: unknown (for partial evaluation)
    entities: tuple[dict[str, Any], ...]

    def as_json(self) -> dict[str, Any]:
        """The request as `cedarpy.is_authorized` takes it (uids in the structured form)."""
        return {"principal": self.principal, "action": self.action, "resource": self.resource,
                "context": self.context or {}}


def _uid(kind: str, ident: str) -> dict[str, str]:
    return {"type": kind, "id": ident}


def build_request(*, principal_user_id: str, issuer: str | None, actor_arn: str | None, tool_action: str,
                  gateway_arn: str, arguments: Mapping[str, Any] | None, source_ip: str | None = None,
                  known_context: bool = True) -> CedarRequest:
    """The Cedar request for a tool call; `known_context=False` leaves the context unknown (a tools/list check)."""
    principal = _uid(PRINCIPAL_TYPE, principal_user_id)
    action, resource = _uid(ACTION_TYPE, tool_action), _uid(RESOURCE_TYPE, gateway_arn)
    attrs = {key: value for key, value in (("Issuer", issuer), ("actor", actor_arn)) if value is not None}
    # The action and resource are entities too, so `action in [...]` resolves even in partial evaluation.
    entities = ({"uid": principal, "attrs": attrs, "parents": []},
                {"uid": action, "attrs": {}, "parents": []},
                {"uid": resource, "attrs": {}, "parents": []})
    context: dict[str, Any] | None = None
    if known_context:
        if arguments is not None and not isinstance(arguments, Mapping):
            raise UnrepresentableInput("input: a tool call's arguments are a JSON object.")
        context = {"input": cedar_value(arguments or {}, "input")}
        if source_ip is not None:
            context["sourceIp"] = source_ip
    return CedarRequest(principal, action, resource, context, entities)


def cedar_value(value: Any, path: str, depth: int = 0) -> Any:
    """A JSON value in Cedar's JSON form; `path` names it in errors (`input.items[0].price`)."""
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return _long(value, path)
    if isinstance(value, float):
        return _number(value, path)
    if depth >= _MAX_DEPTH:
        raise UnrepresentableInput(f"{path}: nested deeper than {_MAX_DEPTH} levels.")
    if isinstance(value, list | tuple):
        return [cedar_value(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value) if item is not None]
    if isinstance(value, Mapping):
        return _record(value, path, depth + 1)
    raise UnrepresentableInput(f"{path}: a {type(value).__name__} has no Cedar type.")


def _long(value: int, path: str) -> int:
    if not _LONG_MIN <= value <= _LONG_MAX:
        raise UnrepresentableInput(f"{path}: {value} is outside Cedar's 64-bit integer range.")
    return value


def _number(value: float, path: str) -> Any:
    if not math.isfinite(value):
        raise UnrepresentableInput(f"{path}: {value} is not a finite number.")
    if value.is_integer():
        return _long(int(value), path)
    exact = Decimal(repr(value))
    exponent = exact.as_tuple().exponent
    if not isinstance(exponent, int) or exponent < -4 or abs(exact) > _DECIMAL_LIMIT:
        raise UnrepresentableInput(f"{path}: {value} is not a Cedar decimal (at most 4 decimal places).")
    return {"__extn": {"fn": "decimal", "arg": format(exact, "f")}}


def _record(value: Mapping[Any, Any], path: str, depth: int) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise UnrepresentableInput(f"{path}: the key {key!r} is not a string.")
        if key in _RESERVED_KEYS:
            raise UnrepresentableInput(f"{path}: the key {key!r} is reserved by Cedar's JSON format.")
        if item is not None:
            record[key] = cedar_value(item, f"{path}.{key}", depth)
    return record


def uid_literal(uid: Mapping[str, str]) -> str:
    """An entity uid in Cedar's policy syntax (`Type::"id"`), for the engine calls that only take that form."""
    ident = uid["id"]
    if not ident.isprintable():
        # Cedar refuses such a uid in policy syntax ("needs to be normalized"): say so rather than guess.
        raise UnrepresentableInput(f"the {uid['type']} id {ident!r} holds characters Cedar's syntax cannot carry.")
    escaped = ident.replace("\\", "\\\\").replace('"', '\\"')
    return f'{uid["type"]}::"{escaped}"'
