"""The OAuth clients of each realm: IMS applications (aliyun) and the seeded DingTalk demo app (dingtalk)."""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import Any

from localcloud.oidc.errors import InvalidScope
from localcloud.oidc.redirects import below_prefix, same_origin
from localcloud.services.ims import find_application, verify_app_secret
from localcloud.store import Store, random_token
from localcloud.urls import LocalUrls

__all__ = ["DINGTALK_SCOPES", "OAuthClient", "dingtalk_demo_app", "find_client", "verify_client_secret"]

DINGTALK_SCOPES = ("openid", "corpid", "Document.Document.Write", "Document.Document.Read", "Contact.User.Read")
DINGTALK_ACCESS_TOKEN_SECONDS = 7200  # what DingTalk's OAuth documents for user access tokens
DINGTALK_REFRESH_TOKEN_SECONDS = 30 * 24 * 3600
_DINGTALK_APP_META = "oidc.dingtalk_demo_app"  # {"client_id", "client_secret"}, created at first use
_CONFIDENTIAL_TYPES = ("WebApp", "ServerApp")


@dataclass(frozen=True)
class OAuthClient:
    """What the sign-in server needs to know about a client, whichever realm it belongs to."""

    client_id: str
    display_name: str
    app_type: str                   # WebApp, NativeApp or ServerApp (the DingTalk demo app is a WebApp)
    confidential: bool              # may (and for client_credentials must) authenticate with a secret
    redirect_uris: tuple[str, ...]  # exact matches
    redirect_prefix: str | None     # or any URI under this prefix (DingTalk checks domains, not URIs)
    scopes: dict[str, str]          # every scope it may ask for -> its description
    required_scopes: tuple[str, ...]
    default_scopes: tuple[str, ...]  # granted when the request names none
    access_token_seconds: int
    refresh_token_seconds: int
    account: str = ""

    def allows_redirect(self, uri: str) -> bool:
        """Whether the authorization answer may be sent to `uri`: a registered URI exactly, or below the prefix."""
        if uri in self.redirect_uris:
            return True
        return bool(self.redirect_prefix and below_prefix(uri, self.redirect_prefix))

    def allows_post_logout_redirect(self, uri: str) -> bool:
        """Whether RP-Initiated Logout may send the browser to `uri`: the origin of a registered redirect URI."""
        registered = self.redirect_uris + ((self.redirect_prefix,) if self.redirect_prefix else ())
        return same_origin(uri, registered)

    def grant_scopes(self, requested: tuple[str, ...] | None) -> tuple[str, ...]:
        """The scopes an authorization gets: the requested (all predefined) plus the required ones."""
        wanted = self.default_scopes if requested is None else requested
        if unknown := [name for name in wanted if name not in self.scopes]:
            raise InvalidScope(f"the application may not ask for: {' '.join(unknown)}")
        return tuple(dict.fromkeys([*wanted, *self.required_scopes]))


def _redirect_uris(app: dict[str, Any]) -> tuple[str, ...]:
    uris = app.get("RedirectUris") or []
    if isinstance(uris, dict):  # the API view's shape, in case a caller stored that
        uris = uris.get("RedirectUri") or []
    return tuple(uris)


def _ims_client(app: dict[str, Any]) -> OAuthClient:
    scopes = app.get("Scopes") or []
    required = tuple(s["Name"] for s in scopes if s.get("Required"))
    # IMS forces SecretRequired on WebApp/ServerApp; a NativeApp that opted in can have secrets too.
    confidential = app["AppType"] in _CONFIDENTIAL_TYPES or bool(app.get("SecretRequired"))
    return OAuthClient(
        client_id=app["AppId"], display_name=app.get("DisplayName") or app["AppName"], app_type=app["AppType"],
        confidential=confidential, redirect_uris=_redirect_uris(app), redirect_prefix=None,
        scopes={s["Name"]: s.get("Description") or s["Name"] for s in scopes}, required_scopes=required,
        default_scopes=required, access_token_seconds=int(app["AccessTokenValidity"]),
        refresh_token_seconds=int(app["RefreshTokenValidity"]), account=app["AccountId"])


_DINGTALK_DESCRIPTIONS = {
    "openid": "Know who you are in DingTalk (your user ID and nickname).",
    "corpid": "Know which DingTalk organization you are signed in to.",
    "Document.Document.Write": "Create and edit DingTalk documents as you.",
    "Document.Document.Read": "Read your DingTalk documents.",
    "Contact.User.Read": "Read your contact information.",
}


def dingtalk_demo_app(store: Store) -> tuple[str, str]:
    """The DingTalk realm's demo app as `(client_id, client_secret)`, created at first use."""
    if store.meta(_DINGTALK_APP_META) is None:
        # "ding" + 16 characters: the shape of a DingTalk AppKey.
        app = {"client_id": "ding" + random_token(16).lower(), "client_secret": random_token(64)}
        store.set_meta_once(_DINGTALK_APP_META, json.dumps(app))
    app = json.loads(store.meta(_DINGTALK_APP_META) or "{}")
    return app["client_id"], app["client_secret"]


def _dingtalk_client(client_id: str, urls: LocalUrls) -> OAuthClient:
    # DingTalk validates the redirect *domain* registered for the app, not a full URI: any callback
    # of the data plane (`…/oauth2/callback/<id>`, one per credential provider) is accepted.
    return OAuthClient(
        client_id=client_id, display_name="DingTalk Demo App", app_type="WebApp", confidential=True,
        redirect_uris=(), redirect_prefix=urls.data_plane_callback_prefix(), scopes=dict(_DINGTALK_DESCRIPTIONS),
        required_scopes=(), default_scopes=("openid",), access_token_seconds=DINGTALK_ACCESS_TOKEN_SECONDS,
        refresh_token_seconds=DINGTALK_REFRESH_TOKEN_SECONDS)


def find_client(store: Store, urls: LocalUrls, realm: str, client_id: str) -> OAuthClient | None:
    """The realm's client with this id, or None."""
    if not client_id:
        return None
    if realm == "dingtalk":
        demo_id, _ = dingtalk_demo_app(store)
        return _dingtalk_client(demo_id, urls) if hmac.compare_digest(client_id.encode(), demo_id.encode()) else None
    app = find_application(store, client_id)
    return None if app is None else _ims_client(app)


def verify_client_secret(store: Store, realm: str, client: OAuthClient, presented: str) -> bool:
    """Whether `presented` is a current secret of the client (constant-time)."""
    if realm == "dingtalk":
        _, secret = dingtalk_demo_app(store)
        return hmac.compare_digest(presented.encode(), secret.encode())
    return verify_app_secret(store, client.account, client.client_id, presented)
