"""Running a tool for the signed-in user: resolve its credential through the broker, call it, report.

The arguments are checked against their grammars before the broker is asked: a bad one is the tool's result
("<tool> failed: invalid …"), and neither a credential nor a request was spent on it. ConsentRequired is not
swallowed: it goes up to the agent loop, which shows the consent and waits. Every other failure becomes the
tool's result text, so the model can tell the user what went wrong.

A tool behind the AI Gateway (its credential `injected_by` the gateway) gets the user's workload access token, never
the credential itself. The gateway's consent request (ElicitationRequired) becomes the broker's ConsentRequired, and
its policy's denial an outcome that names the deciding policies.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from identity.broker import ConsentRequired, CredentialBroker
from identity.errors import IdentityError
from identity.users import SignedInUser
from tools.base import Tool, ToolContext, ToolError
from tools.elicitations import consent_for, forget_injected
from tools.errors import ElicitationRequired, PolicyDenied

__all__ = ["ToolOutcome", "call_tool", "resolve_credential"]


@dataclass(frozen=True)
class ToolOutcome:
    tool: str
    ok: bool
    content: str
    credential_kind: str
    provider: str
    fingerprint: str
    latency_ms: float
    via: str = ""                                  # the gateway the call went through ("" for a direct call)
    denied_by: tuple[str, ...] | None = None       # the gateway's policy denied it: the deciding policies


def resolve_credential(tool: Tool, user: SignedInUser, broker: CredentialBroker) -> Any:
    """The credential the tool declares, from the broker, for this user (ConsentRequired propagates)."""
    spec, settings = tool.credential, broker.settings
    if spec.injected_by:  # the gateway gets the credential itself: the app presents who is asking
        forget_injected(tool, user, broker)
        return broker.workload_token(user)
    if spec.kind == "api_key":
        return broker.api_key(user, spec.provider(settings))
    if spec.kind == "sts":
        return broker.sts_credentials(user)
    if spec.kind == "oauth2":
        return broker.oauth2_token(user, spec.provider(settings), spec.scopes, flow=spec.flow)
    raise ToolError(f"{tool.name} declares an unknown credential kind {spec.kind!r}")


def call_tool(tool: Tool, arguments: Mapping[str, Any], user: SignedInUser, broker: CredentialBroker,
              endpoints: Mapping[str, str]) -> ToolOutcome:
    """Run one tool call; raises ConsentRequired, otherwise always returns an outcome."""
    started = time.perf_counter()
    provider = tool.credential.provider(broker.settings)
    fingerprint, denied_by = "", None
    try:
        # First: an argument outside its grammar (a steered model's `../` or `?x=`) costs no credential and no request.
        tool.check(arguments)
        credential = resolve_credential(tool, user, broker)
        fingerprint = getattr(credential, "fingerprint", "")
        context = ToolContext(credential, broker.settings, dict(endpoints))
        content, ok = tool.function(context, **dict(arguments)), True
    except ConsentRequired:
        raise
    except ElicitationRequired as asked:
        raise ConsentRequired(consent_for(asked, tool, user, broker)) from None
    except PolicyDenied as denied:
        content, ok, denied_by = f"{tool.name} failed: {denied}", False, denied.policies
    except (IdentityError, ToolError) as error:
        content, ok = f"{tool.name} failed: {error}", False
    except TypeError as error:  # the model sent arguments the function does not take
        content, ok = f"{tool.name} was called with bad arguments: {error}", False
    latency = round((time.perf_counter() - started) * 1000, 1)
    return ToolOutcome(tool.name, ok, content, tool.credential.kind, provider, fingerprint, latency,
                       tool.credential.injected_by, denied_by)
