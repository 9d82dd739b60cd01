"""Who may change Setup: an owner's action, decided on the server for every Provision and Clear. Pure.

Once resources are provisioned, only a signed-in user named in `APP_ADMINS` (login names; local mode's default is
`alice`) may provision again or clear them: in cloud mode that is the operator's Alibaba Cloud account. Before
anything is provisioned nobody can sign in yet (there is no OAuth app), so local mode lets the first Provision run,
and cloud mode asks for `APP_SETUP_TOKEN` (set by the operator, or generated at start and printed once to the server
log). Everybody else sees the plan read-only and why.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from identity.errors import IdentityError
from identity.settings import Settings
from identity.users import SignedInUser

__all__ = ["SetupAccess", "SetupNotAllowed", "is_provisioned", "login_name", "require_setup_access", "setup_access"]

# ID token claims that carry the sign-in name, most specific first (Alibaba Cloud's `login_name`, OIDC's standard
# `preferred_username`, then the user principal name without its domain).
_LOGIN_CLAIMS = ("login_name", "preferred_username", "upn")


class SetupNotAllowed(IdentityError):
    """This visitor may not change the cloud resources; the message says who may."""


@dataclass(frozen=True)
class SetupAccess:
    """Whether this visitor may Provision and Clear, and if not, why (shown above the read-only plan)."""

    allowed: bool
    reason: str = ""
    needs_token: bool = False   # cloud mode before the first Provision: the page asks for APP_SETUP_TOKEN


def login_name(user: SignedInUser | None) -> str:
    """The user's sign-in name, lower-case ("" when the token carries none)."""
    if user is None:
        return ""
    for claim in _LOGIN_CLAIMS:
        value = user.claims.get(claim)
        if isinstance(value, str) and value.strip():
            return value.strip().split("@")[0].lower()
    return ""


def is_provisioned(config: Mapping[str, Any]) -> bool:
    """Whether `.config.json` records resources this deployment created or uses."""
    return bool(config.get("created") or config.get("inbound_app_id") or config.get("workload_identity_name"))


def setup_access(user: SignedInUser | None, settings: Settings, provisioned: bool, token: str | None,
                 expected_token: str | None) -> SetupAccess:
    """The rule above. `token` is what the visitor typed; `expected_token` the deployment's setup token."""
    if provisioned:
        name = login_name(user)
        if name and name in settings.admins:
            return SetupAccess(True)
        who = ", ".join(settings.admins) or "nobody: APP_ADMINS is empty"
        return SetupAccess(False, "Setup is provisioned: only an administrator may change it (APP_ADMINS: "
                                  f"{who}). Sign in as one; you can still press Plan to compare.")
    if settings.is_local:
        return SetupAccess(True)
    if expected_token and token and hmac.compare_digest(token.encode(), expected_token.encode()):
        return SetupAccess(True, needs_token=True)
    return SetupAccess(False, "The first Provision in cloud mode needs the setup token: APP_SETUP_TOKEN, or the "
                              "one printed to the server log at start.", needs_token=True)


def require_setup_access(access: SetupAccess) -> None:
    """Raise SetupNotAllowed unless `access` allows changing the resources (checked at the moment of the action)."""
    if not access.allowed:
        raise SetupNotAllowed(access.reason)
