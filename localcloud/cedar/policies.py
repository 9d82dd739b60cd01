"""Cedar statements through the real engine (`cedarpy`): validating one, and compiling a named set.

A stored policy holds exactly one static Cedar policy. A set is compiled from each statement's JSON form with the
policy's name as its Cedar policy id, so the engine's reasons and error messages name the user's policies. Both
steps are cached by content: an unchanged set is parsed once, and a changed one re-parses only what changed.

Cedar's parser recurses once per nesting level, and a few thousand levels (a statement of a few thousand
characters) overflow a thread's default 8 MB stack, which kills the whole process. So statement text is parsed on a
thread with a large stack, at most `STATEMENT_MAX` characters of it, and only statements whose expressions nest at
most 100 levels (the engine's own limit, `PolicySet.to_pst`) are accepted: evaluating those is safe anywhere.

`cedarpy` is imported on first use, never when this module loads: localcloud's cold start does not pay for it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from functools import cache, lru_cache
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from localcloud.cedar.errors import InvalidStatement

if TYPE_CHECKING:
    from cedarpy import PolicySet

__all__ = ["STATEMENT_MAX", "NamedStatements", "compile_policies", "engine", "validate_statement"]

T = TypeVar("T")
# (policy name, Cedar statement) pairs in the set's order: hashable, so a compiled set can be cached by it.
NamedStatements = tuple[tuple[str, str], ...]
# Assumed, as Amazon Verified Permissions limits a policy: 10,000 characters of Cedar per statement.
STATEMENT_MAX = 10_000
# The worst 10,000-character statements (5,000 nested brackets) need about 40 MB: twice that, reserved, not used.
_PARSER_STACK_BYTES = 128 * 1024 * 1024
_SETS_CACHED = 64
_STATEMENTS_CACHED = 4096
_stack_size_lock = threading.Lock()


@cache
def engine() -> ModuleType:
    """The `cedarpy` module, imported the first time a statement is parsed or a request evaluated."""
    import cedarpy

    return cedarpy


def validate_statement(statement: str) -> None:
    """Refuse (InvalidStatement, with the engine's message) anything but exactly one static Cedar policy."""
    _policy_json(statement)


def _on_large_stack(work: Callable[[], T]) -> T:
    """`work()` run on a new thread with a large stack, its result or exception passed back."""
    outcome: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            outcome.append((True, work()))
        except BaseException as error:  # handed to the caller, who re-raises it
            outcome.append((False, error))

    with _stack_size_lock:  # the size applies to threads started while it is set
        previous = threading.stack_size(_PARSER_STACK_BYTES)
        try:
            thread = threading.Thread(target=run, name="cedar-parser", daemon=True)
            thread.start()
        finally:
            threading.stack_size(previous)
    thread.join()
    [(ok, value)] = outcome
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


def _parse_one(statement: str) -> str:
    """The one static policy in `statement`, in Cedar's JSON policy form; on the large-stack thread."""
    cedar = engine()
    try:
        parsed = cedar.PolicySet.from_str(statement)
        if parsed.templates():
            raise InvalidStatement("templates (policies with ?principal or ?resource slots) are not supported; "
                                   "write the principal and resource out.")
        if len(parsed) != 1:
            raise InvalidStatement(f"a policy holds exactly one Cedar statement, and this text holds {len(parsed)}.")
        parsed.to_pst()  # refuses expressions nested deeper than the engine's limit
        [policy] = json.loads(cedar.policies_to_json_str(statement))["staticPolicies"].values()
    except ValueError as error:
        raise InvalidStatement(str(error)) from None
    return json.dumps(policy)


@lru_cache(maxsize=_STATEMENTS_CACHED)
def _policy_json(statement: str) -> str:
    """The statement's one policy in JSON form (a string: cached values stay immutable)."""
    if len(statement) > STATEMENT_MAX:
        raise InvalidStatement(f"the statement is longer than {STATEMENT_MAX} characters.")
    return _on_large_stack(lambda: _parse_one(statement))


@lru_cache(maxsize=_SETS_CACHED)
def compile_policies(policies: NamedStatements) -> PolicySet:
    """The engine's policy set of named statements, each policy's Cedar id its name."""
    static: dict[str, Any] = {}
    for name, statement in policies:
        try:
            static[name] = json.loads(_policy_json(statement))
        except InvalidStatement as error:
            raise InvalidStatement(f"policy {name}: {error}") from None
    document = {"staticPolicies": static, "templates": {}, "templateLinks": []}
    try:
        return engine().PolicySet.from_json_str(json.dumps(document))
    except ValueError as error:  # not expected: every part parsed on its own
        raise InvalidStatement(str(error)) from None
