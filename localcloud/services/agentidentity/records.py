"""Agent Identity's records: the resource kinds, the rules their fields obey, and per-account storage.

Every resource is stored as the JSON document its Get action answers (PascalCase, the SDK's field names),
plus any secret the service keeps but never returns (`APIKey`, OAuth2 `ClientSecret`). Views strip those.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from localcloud.rpc.errors import EntityAlreadyExists, EntityNotExist, InvalidParameter
from localcloud.rpc.paging import page
from localcloud.rpc.params import Params
from localcloud.rpc.service import Call
from localcloud.times import iso_utc

__all__ = [
    "API_KEY_PROVIDER",
    "DEFAULT_TOKEN_VAULT",
    "IDENTITY_PROVIDER",
    "OAUTH2_PROVIDER",
    "WORKLOAD_IDENTITY",
    "Kind",
    "changed",
    "create",
    "description",
    "fetch",
    "forget_held_tokens",
    "insert",
    "is_http_url",
    "listing",
    "new_name",
    "remove",
    "save",
    "token_vault",
    "url",
    "url_list",
    "without_none",
]

# Assumed: the API reference gives no name rule; 64 characters of letters, digits, '_' and '-', not
# starting with '-', accepts every name the SDK and the sample generate (e.g. `workload-<uuid4>`).
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")
_DESCRIPTION_MAX = 1024
# Token vaults are not emulated: only the vault every account has, which the ARN formats name.
DEFAULT_TOKEN_VAULT = "default"


@dataclass(frozen=True)
class Kind:
    """One Agent Identity resource type: where it is stored and how errors and requests name it."""

    store_kind: str   # the Store's `kind` column
    entity: str       # the suffix of EntityNotExist.X / EntityAlreadyExists.X
    name_param: str   # the request (and document) field holding the resource's name


IDENTITY_PROVIDER = Kind("agentidentity.identity_provider", "IdentityProvider", "IdentityProviderName")
WORKLOAD_IDENTITY = Kind("agentidentity.workload_identity", "WorkloadIdentity", "WorkloadIdentityName")
OAUTH2_PROVIDER = Kind("agentidentity.oauth2_credential_provider", "OAuth2CredentialProvider",
                       "OAuth2CredentialProviderName")
API_KEY_PROVIDER = Kind("agentidentity.apikey_credential_provider", "APIKeyCredentialProvider",
                        "APIKeyCredentialProviderName")


def without_none(doc: dict[str, Any], hidden: Iterable[str] = ()) -> dict[str, Any]:
    """A document's answerable fields: unset ones and `hidden` (secret) ones left out."""
    secret = set(hidden)
    return {key: value for key, value in doc.items() if value is not None and key not in secret}


# -- input rules ---------------------------------------------------------------------------------
def new_name(params: Params, kind: Kind) -> str:
    """The name a Create action gives its resource, checked against the (assumed) name rule."""
    name = params.required(kind.name_param)
    if not _NAME.fullmatch(name):
        raise InvalidParameter(kind.name_param, "use 1 to 64 letters, digits, '_' or '-', not starting with '-'.")
    return name


def description(params: Params) -> str | None:
    """`Description` when sent; an empty one (clearing it on update) is kept as ''."""
    if "Description" not in params:
        return None
    return params.str("Description", max_len=_DESCRIPTION_MAX) or ""


def is_http_url(value: str) -> bool:
    """Whether `value` is an absolute http(s) URL with a host."""
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def url(params: Params, name: str, *, required: bool = False) -> str | None:
    """An absolute http(s) URL parameter."""
    value = params.str(name, required=required, max_len=2048)
    if value is not None and not is_http_url(value):
        raise InvalidParameter(name, f"'{value}' is not an absolute http(s) URL.")
    return value


def url_list(params: Params, name: str) -> list[str] | None:
    """A JSON array of absolute http(s) URLs."""
    values = params.string_list(name)
    if values is not None and not all(is_http_url(value) for value in values):
        raise InvalidParameter(name, "every entry must be an absolute http(s) URL.")
    return values


def token_vault(params: Params) -> str:
    """`TokenVaultName`, which must name the one (default) vault localcloud has."""
    name = params.str("TokenVaultName", default=DEFAULT_TOKEN_VAULT, max_len=64)
    assert name is not None
    if name != DEFAULT_TOKEN_VAULT:
        raise EntityNotExist("TokenVault", name)
    return name


def changed(doc: dict[str, Any], changes: dict[str, Any], now: float) -> dict[str, Any]:
    """`doc` with the fields an Update sent (those not None) replaced and `UpdateTime` bumped."""
    return {**doc, **without_none(changes), "UpdateTime": iso_utc(now)}


# -- storage: one account's resources of one kind -----------------------------------------------
def create(call: Call, kind: Kind, fields: dict[str, Any]) -> dict[str, Any]:
    """Store a new resource stamped with its creation time; the stored document."""
    now = iso_utc(call.now)
    doc = {**fields, "CreateTime": now, "UpdateTime": now}
    insert(call, kind, doc)
    return doc


def insert(call: Call, kind: Kind, doc: dict[str, Any]) -> None:
    """Store a new resource, named by its `kind.name_param` field."""
    name = doc[kind.name_param]
    if not call.store.insert(kind.store_kind, call.account, name, doc):
        raise EntityAlreadyExists(kind.entity, name)


def fetch(call: Call, kind: Kind, name: str | None = None) -> dict[str, Any]:
    """The stored resource named by `name` (default: the request's `kind.name_param`)."""
    name = name if name is not None else call.params.required(kind.name_param)
    doc = call.store.get(kind.store_kind, call.account, name)
    if doc is None:
        raise EntityNotExist(kind.entity, name)
    return doc


def save(call: Call, kind: Kind, doc: dict[str, Any]) -> None:
    """Overwrite a stored resource; it may have been deleted since it was fetched."""
    name = doc[kind.name_param]
    if not call.store.replace(kind.store_kind, call.account, name, doc):
        raise EntityNotExist(kind.entity, name)


def remove(call: Call, kind: Kind) -> None:
    """Delete the resource the request names."""
    name = call.params.required(kind.name_param)
    if not call.store.delete(kind.store_kind, call.account, name):
        raise EntityNotExist(kind.entity, name)


def forget_held_tokens(call: Call, **which: str) -> None:
    """Delete the tokens held for a workload identity or provider being deleted (`workload=` or `provider=`):
    vaulted ones, and those in consent sessions that were approved but never completed."""
    # The data plane imports these records: its modules are brought in when needed, not when this one loads.
    from localcloud.services.agentidentitydata.records import forget_consents, forget_vaulted

    forget_vaulted(call.store, call.account, **which)
    forget_consents(call.store, call.account, **which)


def listing(call: Call, kind: Kind, key: str, view: Callable[[dict[str, Any]], dict[str, Any]],
            keep: Callable[[dict[str, Any]], bool] = lambda doc: True) -> dict[str, Any]:
    """One page of the account's resources, in creation order, under `key` with the paging fields."""
    docs = [doc for doc in call.store.list(kind.store_kind, call.account) if keep(doc)]
    chosen, fields = page(docs, call.params)
    return {key: [view(doc) for doc in chosen], **fields}
