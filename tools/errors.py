"""The tools layer's errors: what a tool call could not do, said so the model (and the user) can act on it.

Tree::

    ToolError                 root: the message becomes the tool's result; nothing is retried
    ├── InvalidArgument       an argument is outside its grammar (tools.arguments): nothing was sent
    ├── ServiceNotConfigured  the tool's service has no address in this mode
    ├── ServiceFailed         the service (HTTP, OSS, the MCP server) refused, failed or did not answer in time
    └── PolicyDenied          the AI Gateway's policy set denied the call (HTTP 403): its deciding policies

    ElicitationRequired       not a ToolError: the AI Gateway asks the user to consent first (MCP error -32042);
                              the runner turns it into the broker's ConsentRequired

Credential problems are the identity layer's (`identity.errors`): the runner lets them through, and the agent loop
turns a consent into a card rather than an error.
"""

from __future__ import annotations

__all__ = ["ElicitationRequired", "InvalidArgument", "PolicyDenied", "ServiceFailed", "ServiceNotConfigured",
           "ToolError", "denial_names"]


class ToolError(Exception):
    """A tool failed in a way the model should hear about (the message becomes the tool's result)."""


class InvalidArgument(ToolError):
    """An argument the tool's grammar refuses; nothing was sent anywhere."""


class ServiceNotConfigured(ToolError):
    """The tool's service has no address in this mode (cloud mode without SERVICES_URL, say)."""


class ServiceFailed(ToolError):
    """The service refused the request, answered something unreadable, or did not answer in time."""


class PolicyDenied(ToolError):
    """The AI Gateway's policy set denied the call (403): nothing reached the service.

    `policies` are the deciding policies the gateway named (the forbids that matched; none when no permit matched).
    """

    def __init__(self, reason: str, policies: tuple[str, ...] = (), policy_set: str = "", mode: str = "") -> None:
        super().__init__(f"denied by the AI Gateway's policy ({denial_names(policies)}): {reason} Nothing was done.")
        self.reason, self.policies, self.policy_set, self.mode = reason, policies, policy_set, mode


def denial_names(policies: tuple[str, ...]) -> str:
    """The deciding policies of a denial as people read them."""
    return ", ".join(policies) if policies else "no policy permits it"


class ElicitationRequired(Exception):
    """The AI Gateway answered -32042: the user must open `url` and consent before the call can go through."""

    def __init__(self, url: str, elicitation_id: str, message: str = "") -> None:
        super().__init__(message or "the AI Gateway needs the user's consent first")
        self.url, self.elicitation_id, self.message = url, elicitation_id, message
