"""A credential some tools need: one row of the Credentials page (the tools declare them, see `tools/`)."""

from __future__ import annotations

from dataclasses import dataclass

from identity.broker.kinds import ToolKind

__all__ = ["CredentialNeed"]


@dataclass(frozen=True)
class CredentialNeed:
    kind: ToolKind
    provider: str                  # credential provider name ("" for STS)
    scopes: tuple[str, ...] = ()
    flow: str = "USER_FEDERATION"
    tools: tuple[str, ...] = ()
