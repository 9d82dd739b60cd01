"""What a tool is: a typed function the model may call, plus the credential it needs from the broker.

A tool never reads credentials from the environment: the runner asks the broker for the declared
credential, for the signed-in user, and passes it in `ToolContext.credential`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, get_type_hints

from identity.settings import Settings

__all__ = ["CredentialSpec", "Tool", "ToolContext", "ToolError", "tool"]

_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


class ToolError(Exception):
    """A tool failed in a way the model should hear about (the message becomes the tool's result)."""


@dataclass(frozen=True)
class CredentialSpec:
    """The credential a tool needs: kind, which provider (a Settings attribute), scopes and flow."""

    kind: str                                 # "api_key", "sts" or "oauth2"
    provider_setting: str | None = None       # e.g. "api_key_provider_name"
    scopes: tuple[str, ...] = ()
    flow: str = "USER_FEDERATION"

    def provider(self, settings: Settings) -> str:
        return str(getattr(settings, self.provider_setting)) if self.provider_setting else ""


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

    def schema(self) -> dict[str, Any]:
        """The function declaration DashScope (and OpenAI-style APIs) take."""
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": self.parameters}}


def _parameters(function: Callable[..., str]) -> dict[str, Any]:
    """A JSON schema of the function's arguments after the context (types from its annotations)."""
    hints = get_type_hints(function)
    properties, required = {}, []
    for name, parameter in list(inspect.signature(function).parameters.items())[1:]:
        properties[name] = {"type": _JSON_TYPES.get(hints.get(name, str), "string")}
        if parameter.default is inspect.Parameter.empty:
            required.append(name)
    return {"type": "object", "properties": properties, "required": required}


def tool(credential: CredentialSpec) -> Callable[[Callable[..., str]], Tool]:
    """Declare a tool: its docstring's first line is its description for the model."""

    def declare(function: Callable[..., str]) -> Tool:
        description = (inspect.getdoc(function) or function.__name__).splitlines()[0]
        return Tool(function.__name__, description, _parameters(function), credential, function)

    return declare
