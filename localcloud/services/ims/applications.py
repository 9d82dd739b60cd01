"""IMS OAuth applications: CreateApplication, GetApplication, ListApplications, DeleteApplication.

Limits and defaults follow the comments of the SDK's request models (`CreateApplicationRequest`).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from localcloud.rpc.errors import EntityAlreadyExists, EntityNotExist, InvalidParameter
from localcloud.rpc.params import Params
from localcloud.rpc.service import Call
from localcloud.services.ims import records
from localcloud.times import iso_utc

__all__ = [
    "APP_TYPES",
    "create_application",
    "delete_application",
    "get_application",
    "list_applications",
    "require_application",
]

APP_TYPES = ("WebApp", "NativeApp", "ServerApp")
_APP_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
_SCOPE_NAME = re.compile(r"[\x21-\x7e]{1,128}")  # printable ASCII without spaces: scopes travel space-separated
# The SDK documents 24 characters, yet IMS accepts the sample's 51-character display names.
_DISPLAY_NAME_MAX = 128
_ACCESS_TOKEN_RANGE = (900, 10800)
_REFRESH_TOKEN_RANGE = (7200, 31536000)
_WELL_KNOWN_SCOPES = {
    "openid": "Sign the user in with OpenID Connect: an ID token that identifies the user.",
    "profile": "Read the user's basic profile: name, login name and display name.",
    "aliuid": "Read the ID (UID) of the user's Alibaba Cloud account.",
    "email": "Read the user's email address.",
    "/acs/mcp-server": "Call Alibaba Cloud MCP servers as the signed-in user.",
}
_PLAIN_FIELDS = ("AccountId", "AppId", "AppName", "AppType", "DisplayName", "CreateDate", "UpdateDate",
                 "ProtocolVersion", "SecretRequired", "AccessTokenValidity", "RefreshTokenValidity",
                 "IsMultiTenant")


def create_application(call: Call) -> dict[str, Any]:
    """CreateApplication: a new OAuth application in the caller's account."""
    app = _new_application(call)
    app_id = records.claim_app_id(call.store, call.account)
    if not records.claim_app_name(call.store, call.account, app["AppName"], app_id):
        records.release_app_id(call.store, app_id)
        raise EntityAlreadyExists("Application", app["AppName"])
    app = {"AppId": app_id, **app}
    call.store.insert(records.APPLICATION_KIND, call.account, app_id, app)
    return {"Application": _view(app)}


def get_application(call: Call) -> dict[str, Any]:
    """GetApplication: one application by AppId."""
    return {"Application": _view(require_application(call))}


def list_applications(call: Call) -> dict[str, Any]:
    """ListApplications: every application of the caller's account, oldest first."""
    apps = call.store.list(records.APPLICATION_KIND, call.account)
    return {"Applications": {"Application": [_view(app) for app in apps]}}


def delete_application(call: Call) -> dict[str, Any]:
    """DeleteApplication: the application and its secrets."""
    records.remove_application(call.store, require_application(call))
    return {}


def require_application(call: Call) -> dict[str, Any]:
    """The caller's application named by the `AppId` parameter, or EntityNotExist.Application."""
    app_id = call.params.required("AppId", max_len=64)
    app = call.store.get(records.APPLICATION_KIND, call.account, app_id)
    if app is None:
        raise EntityNotExist("Application", app_id)
    return app


def _new_application(call: Call) -> dict[str, Any]:
    """The stored document for a CreateApplication request, every parameter checked; no AppId yet."""
    params = call.params
    app_type = params.required("AppType", choices=APP_TYPES)
    now = iso_utc(call.now)
    return {
        "AccountId": call.account, "AppName": _app_name(params), "AppType": app_type,
        "DisplayName": params.required("DisplayName", max_len=_DISPLAY_NAME_MAX),
        "CreateDate": now, "UpdateDate": now,
        "ProtocolVersion": params.str("ProtocolVersion", default="2.0", choices=("2.0", "2.1")),
        "SecretRequired": _secret_required(params, app_type),
        "AccessTokenValidity": params.int("AccessTokenValidity", default=3600, low=_ACCESS_TOKEN_RANGE[0],
                                          high=_ACCESS_TOKEN_RANGE[1]),
        "RefreshTokenValidity": params.int("RefreshTokenValidity", default=_refresh_default(app_type),
                                           low=_REFRESH_TOKEN_RANGE[0], high=_REFRESH_TOKEN_RANGE[1]),
        # Documented defaults: installable by other accounts unless it is a WebApp.
        "IsMultiTenant": params.bool("IsMultiTenant", default=app_type != "WebApp"),
        "RedirectUris": _redirect_uris(params),
        "Scopes": _scopes(params),
    }


def _app_name(params: Params) -> str:
    name = params.required("AppName", max_len=64)
    if not _APP_NAME.fullmatch(name):
        raise InvalidParameter("AppName", "use up to 64 letters, digits, periods, underscores and hyphens.")
    return name


def _secret_required(params: Params, app_type: str) -> bool:
    # Documented: WebApp and ServerApp are confidential clients, forced to true whatever was sent;
    # a NativeApp is a public client (PKCE) unless it opts in.
    if app_type != "NativeApp":
        return True
    return params.bool("SecretRequired", default=False)


def _refresh_default(app_type: str) -> int:
    """Documented: 90 days for a WebApp, 30 days for NativeApp and ServerApp."""
    return 7776000 if app_type == "WebApp" else 2592000


def _redirect_uris(params: Params) -> list[str]:
    uris = params.separated("RedirectUris", ";")
    for uri in uris:
        parts = urlsplit(uri)
        # RFC 6749 §3.1.2: a redirection endpoint is an absolute URI without a fragment.
        if not (parts.scheme and parts.netloc) or parts.fragment:
            raise InvalidParameter("RedirectUris", f"'{uri}' is not an absolute URL without a fragment.")
    return list(dict.fromkeys(uris))


def _scopes(params: Params) -> list[dict[str, Any]]:
    """The predefined scopes, each marked Required when RequiredScopes names it."""
    names = list(dict.fromkeys(params.separated("PredefinedScopes", ";")))
    for name in names:
        if not _SCOPE_NAME.fullmatch(name):
            raise InvalidParameter("PredefinedScopes", f"'{name}' is not a valid scope name.")
    required = set(params.separated("RequiredScopes", ";"))
    if stray := sorted(required.difference(names)):
        raise InvalidParameter("RequiredScopes", f"{', '.join(stray)} not in PredefinedScopes.")
    return [{"Name": name, "Description": _describe_scope(name), "Required": name in required} for name in names]


def _describe_scope(name: str) -> str:
    if name in _WELL_KNOWN_SCOPES:
        return _WELL_KNOWN_SCOPES[name]
    if name.startswith("/acs/"):
        return f"Call the Alibaba Cloud service '{name[5:]}' as the signed-in user."
    return f"The '{name}' permission."


def _view(app: dict[str, Any]) -> dict[str, Any]:
    """The `Application` document the SDK reads, built from the stored one."""
    view = {name: app[name] for name in _PLAIN_FIELDS}
    view["RedirectUris"] = {"RedirectUri": list(app["RedirectUris"])}
    view["DelegatedScope"] = {"PredefinedScopes": {"PredefinedScope": [dict(s) for s in app["Scopes"]]}}
    return view
