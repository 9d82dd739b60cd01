"""OIDC identity providers: whose user tokens a workload identity accepts (issuer discovery + audience)."""

from __future__ import annotations

from typing import Any

from localcloud import arns
from localcloud.rpc.errors import DeleteConflict
from localcloud.rpc.params import Params
from localcloud.rpc.service import Call
from localcloud.services.agentidentity.records import (
    IDENTITY_PROVIDER,
    WORKLOAD_IDENTITY,
    changed,
    create,
    description,
    fetch,
    listing,
    new_name,
    remove,
    save,
    url,
    without_none,
)

__all__ = [
    "create_identity_provider",
    "delete_identity_provider",
    "get_identity_provider",
    "list_identity_providers",
    "update_identity_provider",
]


def _view(doc: dict[str, Any]) -> dict[str, Any]:
    return without_none(doc)


def _audience(params: Params) -> list[str] | None:
    return params.string_list("AllowedAudience")


def create_identity_provider(call: Call) -> dict[str, Any]:
    """CreateIdentityProvider."""
    name = new_name(call.params, IDENTITY_PROVIDER)
    doc = create(call, IDENTITY_PROVIDER, {
        "IdentityProviderName": name,
        "IdentityProviderArn": arns.identity_provider_arn(call.region, call.account, name),
        "AllowedAudience": _audience(call.params) or [],
        # Assumed required: an OIDC provider cannot be used without its discovery document.
        "DiscoveryURL": url(call.params, "DiscoveryURL", required=True),
        "Description": description(call.params),
    })
    return {"IdentityProvider": _view(doc)}


def get_identity_provider(call: Call) -> dict[str, Any]:
    """GetIdentityProvider."""
    return {"IdentityProvider": _view(fetch(call, IDENTITY_PROVIDER))}


def list_identity_providers(call: Call) -> dict[str, Any]:
    """ListIdentityProviders."""
    return listing(call, IDENTITY_PROVIDER, "IdentityProviders", _view)


def update_identity_provider(call: Call) -> dict[str, Any]:
    """UpdateIdentityProvider: only the fields sent change; the SDK's response carries no provider."""
    doc = fetch(call, IDENTITY_PROVIDER)
    changes = {
        "AllowedAudience": _audience(call.params),
        "DiscoveryURL": url(call.params, "DiscoveryURL"),
        "Description": description(call.params),
    }
    save(call, IDENTITY_PROVIDER, changed(doc, changes, call.now))
    return {}


def delete_identity_provider(call: Call) -> dict[str, Any]:
    """DeleteIdentityProvider, refused while a workload identity still uses the provider."""
    name = fetch(call, IDENTITY_PROVIDER)["IdentityProviderName"]
    # Assumed: the sample's clear.py deletes the provider's workload identities first, as if it had to.
    users = [doc["WorkloadIdentityName"] for doc in call.store.list(WORKLOAD_IDENTITY.store_kind, call.account)
             if doc.get("IdentityProviderName") == name]
    if users:
        raise DeleteConflict("IdentityProvider", f"The IdentityProvider '{name}' is used by the workload "
                             f"identities {', '.join(users)}: delete or update them first.")
    remove(call, IDENTITY_PROVIDER)
    return {}
