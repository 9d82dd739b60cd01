"""The two OAuth applications (IMS): the inbound web app users sign in to, and the MCP native app."""

from __future__ import annotations

from collections.abc import Callable

from alibabacloud_ims20190815 import models as ims

from identity.provision.deployment import Deployment
from identity.provision.steps.base import Found, Step, absent_on_not_found

__all__ = ["INBOUND_APP", "MCP_APP"]

_INBOUND_SCOPES = "aliuid;profile;openid"
_MCP_SCOPES = "aliuid;profile;openid;/acs/mcp-server"


def _find(deployment: Deployment, name: str, id_key: str) -> Found | None:
    ims_client = deployment.clients.ims()
    recorded = deployment.config.get(id_key)
    if recorded:
        app = absent_on_not_found(lambda: ims_client.get_application(ims.GetApplicationRequest(app_id=recorded)))
        if app is not None:
            return app.body.application.to_map()
    listed = ims_client.list_applications().body.applications.application or []
    return next((a.to_map() for a in listed if a.app_name == name), None)


def _create(deployment: Deployment, kind: str, app_type: str, scopes: str, redirect: str) -> str:
    name = getattr(deployment, f"{kind}_app_name")
    app = deployment.clients.ims().create_application(ims.CreateApplicationRequest(
        app_name=name, display_name=f"Agent Identity Dashboard ({kind})", app_type=app_type,
        predefined_scopes=scopes, required_scopes=scopes, redirect_uris=redirect, protocol_version="2.1"))
    deployment.record(**{f"{kind}_app_id": app.body.application.app_id, f"{kind}_app_name": name})
    return name


def _delete(deployment: Deployment, kind: str) -> None:
    app_id = deployment.config.get(f"{kind}_app_id")
    if app_id:
        deployment.clients.ims().delete_application(ims.DeleteApplicationRequest(app_id=app_id))
    deployment.forget(f"{kind}_app", f"{kind}_app_id", f"{kind}_app_name")


def _redirect_drift(found: Found, wanted: str) -> str | None:
    uris = (found.get("RedirectUris") or {}).get("RedirectUri") or []
    return None if wanted in uris else f"redirect URIs {uris} lack {wanted} (clear and provision again to fix)"


def _adopter(kind: str) -> Callable[[Deployment, Found], None]:
    def adopt(deployment: Deployment, found: Found) -> None:
        deployment.record(**{f"{kind}_app_id": found["AppId"], f"{kind}_app_name": found["AppName"]})
    return adopt


INBOUND_APP = Step(
    key="inbound_app", title="Inbound web application (users sign in to it)",
    label=lambda d: d.inbound_app_name,
    find=lambda d: _find(d, d.inbound_app_name, "inbound_app_id"),
    create=lambda d: _create(d, "inbound", "WebApp", _INBOUND_SCOPES, d.settings.inbound_redirect_uri),
    delete=lambda d: _delete(d, "inbound"),
    drift=lambda d, found: _redirect_drift(found, d.settings.inbound_redirect_uri),
    adopt=_adopter("inbound"),
)

MCP_APP = Step(
    key="mcp_app", title="MCP native application (consent for the MCP server)",
    label=lambda d: d.mcp_app_name,
    find=lambda d: _find(d, d.mcp_app_name, "mcp_app_id"),
    create=lambda d: _create(d, "mcp", "NativeApp", _MCP_SCOPES, d.callback_url("mcp")),
    delete=lambda d: _delete(d, "mcp"),
    drift=lambda d, found: _redirect_drift(found, d.callback_url("mcp")),
    adopt=_adopter("mcp"),
)
