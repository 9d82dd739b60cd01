"""RAM policy documents: validation and evaluation, as pure functions.

Grammar (RAM's, version "1")::

    {"Version": "1", "Statement": [{"Effect": "Allow"|"Deny", "Action": str|[str],
      "Resource": str|[str],            # permission policies
      "Principal": {"RAM"|"Service"|"Federated": str|[str]},   # trust policies
      "Condition": {"StringEquals": {"key": str|[str]}, ...}}]}

Evaluation follows RAM: an explicit Deny wins, then any Allow, otherwise an implicit deny.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Decision", "PolicyError", "evaluate", "parse_policy", "trusted_principals"]

_EFFECTS = ("Allow", "Deny")
_PRINCIPAL_KINDS = ("RAM", "Service", "Federated")
MAX_POLICY_BYTES = 6144  # RAM's limit for one custom policy version


class PolicyError(ValueError):
    """The document is not a valid RAM policy; the message says what to fix."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # "Allow", "ExplicitDeny" or "ImplicitDeny"


def parse_policy(text: str, *, trust: bool = False) -> dict[str, Any]:
    """Parse and validate a permission policy (or, with `trust`, a role's trust policy)."""
    if len(text.encode()) > MAX_POLICY_BYTES:
        raise PolicyError(f"the document is longer than {MAX_POLICY_BYTES} bytes")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyError(f"the document is not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(document, dict):
        raise PolicyError("the document must be a JSON object")
    if document.get("Version") != "1":
        raise PolicyError('"Version" must be "1"')
    statements = document.get("Statement")
    if not isinstance(statements, list) or not statements:
        raise PolicyError('"Statement" must be a non-empty array')
    for index, statement in enumerate(statements, 1):
        _check_statement(statement, index, trust)
    return document


def _check_statement(statement: Any, index: int, trust: bool) -> None:
    where = f"Statement {index}"
    if not isinstance(statement, dict):
        raise PolicyError(f"{where} must be an object")
    if statement.get("Effect") not in _EFFECTS:
        raise PolicyError(f'{where}: "Effect" must be "Allow" or "Deny"')
    _strings(statement.get("Action"), f'{where}: "Action"')
    if trust:
        principal = statement.get("Principal")
        if not isinstance(principal, dict) or not principal or set(principal) - set(_PRINCIPAL_KINDS):
            raise PolicyError(f'{where}: "Principal" must be an object with RAM, Service or Federated')
        for kind, value in principal.items():
            _strings(value, f'{where}: "Principal.{kind}"')
    else:
        _strings(statement.get("Resource"), f'{where}: "Resource"')
    condition = statement.get("Condition", {})
    if not isinstance(condition, dict) or not all(isinstance(v, dict) for v in condition.values()):
        raise PolicyError(f'{where}: "Condition" must map operators to objects')
    for operator, tests in condition.items():
        for key, expected in tests.items():
            values = expected if isinstance(expected, list) else [expected]
            if not values or not all(isinstance(v, str | int | float) for v in values):  # bool is an int
                raise PolicyError(f'{where}: "Condition.{operator}.{key}" must be a value or an array of values')


def _strings(value: Any, what: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) and i for i in items):
        raise PolicyError(f"{what} must be a non-empty string or array of strings")
    return items


def _as_list(value: Any) -> list[Any]:
    """A policy field that may be one value or an array as a list (a number is one value, not an iterable)."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _matches(patterns: Iterable[str], value: str, *, case: bool) -> bool:
    if not case:
        value = value.lower()
    return any(fnmatch.fnmatchcase(value, p if case else p.lower()) for p in patterns)


def _condition_holds(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> bool:
    for operator, tests in condition.items():
        for key, expected in tests.items():
            actual = context.get(key)
            wanted = [str(e) for e in _as_list(expected)]
            if operator == "StringEquals":
                ok = actual is not None and actual in wanted
            elif operator == "StringNotEquals":
                ok = actual is None or actual not in wanted
            elif operator == "StringLike":
                ok = actual is not None and _matches(wanted, actual, case=True)
            elif operator == "StringNotLike":
                ok = actual is None or not _matches(wanted, actual, case=True)
            else:
                ok = False  # an operator localcloud does not know never grants anything
            if not ok:
                return False
    return True


def evaluate(documents: Iterable[Mapping[str, Any]], action: str, resource: str,
             context: Mapping[str, str] | None = None) -> Decision:
    """RAM's decision for `action` on `resource` under every statement of `documents`."""
    allowed = False
    for document in documents:
        for statement in document["Statement"]:
            if not _matches(_as_list(statement["Action"]), action, case=False):
                continue
            if not _matches(_as_list(statement.get("Resource", "*")), resource, case=True):
                continue
            if not _condition_holds(statement.get("Condition", {}), context or {}):
                continue
            if statement["Effect"] == "Deny":
                return Decision(False, "ExplicitDeny")
            allowed = True
    return Decision(True, "Allow") if allowed else Decision(False, "ImplicitDeny")


def trusted_principals(document: Mapping[str, Any], kind: str, action: str = "sts:AssumeRole",
                       context: Mapping[str, str] | None = None) -> list[str]:
    """The principals of one kind that a trust policy allows to perform `action`."""
    found: list[str] = []
    for statement in document["Statement"]:
        if statement["Effect"] != "Allow" or not _matches(_as_list(statement["Action"]), action, case=False):
            continue
        if _condition_holds(statement.get("Condition", {}), context or {}):
            found.extend(_as_list(statement.get("Principal", {}).get(kind)))
    return found
