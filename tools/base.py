"""What a tool is: a typed function the model may call, plus the credential it needs from the broker.

A tool never reads credentials from the environment: the runner asks the broker for the declared
credential, for the signed-in user, and passes it in `ToolContext.credential`.

Every argument a tool takes is declared with its grammar (`Annotated[str, CITY]`, see `tools.arguments`): the
runner checks the model's arguments before it asks the broker for anything, and the tool's function checks them
again, so no caller can send an argument outside its grammar to a service.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, get_type_hints

from identity.broker.kinds import ToolKind
from identity.settings import Settings
from tools.arguments import Grammar, check_argument
from tools.errors import ToolError

__all__ = ["ArgumentCheck", "CredentialSpec", "Tool", "ToolContext", "ToolError", "tool"]

_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}

ArgumentCheck = Callable[[Mapping[str, Any]], None]


def _no_check(arguments: Mapping[str, Any]) -> None:
    """For tools built by hand that take no arguments (the MCP connector)."""


@dataclass(frozen=True)
class CredentialSpec:
    """The credential a tool needs: kind, which provider (a Settings attribute), scopes and flow.

    `injected_by` names a gateway that gets and injects this credential itself (the AI Gateway): the app presents
    the user's workload access token there and never holds the credential.
    """

    kind: ToolKind
    provider_setting: str | None = None       # e.g. "api_key_provider_name", or "gateway.order_provider_name"
    scopes: tuple[str, ...] = ()
    flow: str = "USER_FEDERATION"
    injected_by: str = ""

    def provider(self, settings: Settings) -> str:
        if not self.provider_setting:
            return ""
        return str(functools.reduce(getattr, self.provider_setting.split("."), settings))


@dataclass(frozen=True)
class ToolContext:
    """What a running tool gets: its credential and where the services are."""

    credential: Any
    settings: Settings
    endpoints: dict[str, str] = field(default_factory=dict)
    timeout: float = 15.0


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    credential: CredentialSpec
    function: Callable[..., str]
    check: ArgumentCheck = _no_check  # raises ToolError (or TypeError) for arguments the tool must not be run with

    def schema(self) -> dict[str, Any]:
        """The function declaration DashScope (and OpenAI-style APIs) take."""
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": self.parameters}}


def _grammars(function: Callable[..., str]) -> dict[str, Grammar]:
    """Each argument's grammar, from its `Annotated[...]` type; a tool argument without one is a programming error."""
    hints = get_type_hints(function, include_extras=True)
    grammars = {}
    for name in list(inspect.signature(function).parameters)[1:]:
        found = [m for m in getattr(hints.get(name), "__metadata__", ()) if isinstance(m, Grammar)]
        if not found:
            raise TypeError(f"{function.__name__}: argument {name!r} needs a grammar: Annotated[str, <Grammar>]")
        grammars[name] = found[0]
    return grammars


def _parameters(function: Callable[..., str], grammars: Mapping[str, Grammar]) -> dict[str, Any]:
    """A JSON schema of the function's arguments after the context (types from its annotations, rules from their
    grammars, so the model knows a valid value before it tries one)."""
    hints = get_type_hints(function)
    properties, required = {}, []
    for name, parameter in list(inspect.signature(function).parameters.items())[1:]:
        grammar = grammars[name]
        properties[name] = {"type": _JSON_TYPES.get(hints.get(name, str), "string"), "description": grammar.help(),
                            "maxLength": grammar.max_length}
        if parameter.default is inspect.Parameter.empty:
            required.append(name)
    return {"type": "object", "properties": properties, "required": required}


def _argument_check(function: Callable[..., str], grammars: Mapping[str, Grammar]) -> ArgumentCheck:
    """Checks a call's arguments: only those the function takes (TypeError otherwise), each within its grammar."""
    signature = inspect.signature(function)

    def check(arguments: Mapping[str, Any]) -> None:
        signature.bind(None, **arguments)  # the context, then the model's arguments: TypeError for unknown ones
        for name, value in arguments.items():
            check_argument(name, value, grammars[name])

    return check


def _checked(function: Callable[..., str], check: ArgumentCheck) -> Callable[..., str]:
    """The function, refusing arguments outside their grammar even when called directly, not through the runner."""

    @functools.wraps(function)
    def run(context: ToolContext, /, **arguments: Any) -> str:
        check(arguments)
        return function(context, **arguments)

    return run


def tool(credential: CredentialSpec) -> Callable[[Callable[..., str]], Tool]:
    """Declare a tool: its docstring's first line is its description for the model; each argument after the
    context is `Annotated[str, <Grammar>]`."""

    def declare(function: Callable[..., str]) -> Tool:
        description = (inspect.getdoc(function) or function.__name__).splitlines()[0]
        grammars = _grammars(function)
        check = _argument_check(function, grammars)
        return Tool(function.__name__, description, _parameters(function, grammars), credential,
                    _checked(function, check), check)

    return declare
