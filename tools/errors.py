"""The tools layer's errors: what a tool call could not do, said so the model (and the user) can act on it.

Tree::

    ToolError                 root: the message becomes the tool's result; nothing is retried
    ├── InvalidArgument       an argument is outside its grammar (tools.arguments): nothing was sent
    ├── ServiceNotConfigured  the tool's service has no address in this mode
    └── ServiceFailed         the service (HTTP, OSS, the MCP server) refused, failed or did not answer in time

Credential problems are the identity layer's (`identity.errors`): the runner lets them through, and the agent loop
turns a consent into a card rather than an error.
"""

from __future__ import annotations

__all__ = ["InvalidArgument", "ServiceFailed", "ServiceNotConfigured", "ToolError"]


class ToolError(Exception):
    """A tool failed in a way the model should hear about (the message becomes the tool's result)."""


class InvalidArgument(ToolError):
    """An argument the tool's grammar refuses; nothing was sent anywhere."""


class ServiceNotConfigured(ToolError):
    """The tool's service has no address in this mode (cloud mode without SERVICES_URL, say)."""


class ServiceFailed(ToolError):
    """The service refused the request, answered something unreadable, or did not answer in time."""
