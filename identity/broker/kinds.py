"""The one vocabulary for kinds of credential: tools declare them, the broker caches by them, pages label them."""

from __future__ import annotations

from typing import Literal

__all__ = ["LABELS", "CredentialKind", "ToolKind", "kind_label"]

ToolKind = Literal["api_key", "sts", "oauth2"]  # what a tool may declare it needs
# What the broker holds: a tool's kinds, the workload access token they all start from, and an app's M2M token.
CredentialKind = Literal["workload", "sts", "api_key", "oauth2", "oauth2_m2m"]

LABELS: dict[str, str] = {"workload": "Workload token", "sts": "STS", "api_key": "API key", "oauth2": "OAuth2",
                          "oauth2_m2m": "OAuth2 (M2M)"}


def kind_label(kind: str) -> str:
    """How people read a kind ("API key"); an unknown one as it is."""
    return LABELS.get(kind, kind)
