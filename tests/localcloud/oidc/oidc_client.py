"""An independent OIDC client for the tests: a browser (httpx with cookies) and the client's back channel.

It knows the sign-in server only through HTTP, discovery and PyJWT, never through its code.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
from alibabacloud_ims20190815 import models as ims_models
from alibabacloud_ims20190815.client import Client as ImsClient

import localcloud
from tests.conftest import tea_config

WEB_REDIRECT = "http://localhost:8501/oauth2callback"
MCP_REDIRECT = "http://localhost:8501/acs/mcp-server"
_REQUEST_ID = re.compile(r'name="request_id" value="([^"]+)"')


@dataclass(frozen=True)
class Pkce:
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True)
class Apps:
    """IMS applications created through the official client, as the sample's prepare step does."""

    web: str
    web_secret: str
    native: str
    openid_only: str


def _create(ims: ImsClient, app_type: str, scopes: str, redirect: str, required: str | None = None,
            display_name: str | None = None) -> str:
    name = f"oidc-{app_type.lower()}-{secrets.token_hex(6)}"
    request = ims_models.CreateApplicationRequest(
        app_name=name, display_name=display_name or name, app_type=app_type, predefined_scopes=scopes,
        required_scopes=scopes if required is None else required, redirect_uris=redirect, protocol_version="2.1")
    return ims.create_application(request).body.application.app_id


def create_apps(cloud: localcloud.LocalCloud) -> Apps:
    """A sample-like WebApp (with a secret), a NativeApp for the MCP scope and a WebApp requiring only openid."""
    ims = ImsClient(tea_config(cloud))
    web = _create(ims, "WebApp", "aliuid;profile;openid", WEB_REDIRECT, display_name="Agent Identity Demo")
    secret = ims.create_app_secret(ims_models.CreateAppSecretRequest(app_id=web)).body.app_secret.app_secret_value
    native = _create(ims, "NativeApp", "aliuid;profile;openid;/acs/mcp-server", MCP_REDIRECT)
    openid_only = _create(ims, "WebApp", "openid;aliuid;profile", WEB_REDIRECT, required="openid")
    return Apps(web, secret, native, openid_only)


def create_app(cloud: localcloud.LocalCloud, app_type: str, scopes: str, redirect: str, **fields: Any) -> str:
    """One more IMS application."""
    return _create(ImsClient(tea_config(cloud)), app_type, scopes, redirect, **fields)


def request_id_of(page: httpx.Response) -> str:
    """The pending request's hidden id in a login or consent form."""
    found = _REQUEST_ID.search(page.text)
    assert found, f"no request_id in the page ({page.status_code}): {page.text[:300]}"
    return found.group(1)


def query_of(response: httpx.Response) -> dict[str, str]:
    """The query parameters of a redirect's Location."""
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


def is_login_form(page: httpx.Response) -> bool:
    return 'name="username"' in page.text and 'name="password"' in page.text


def is_consent_form(page: httpx.Response) -> bool:
    return 'name="decision" value="approve"' in page.text and 'name="decision" value="deny"' in page.text


@dataclass
class SignIn:
    """What a client holds after the redirect back: the code, and what it sent."""

    code: str
    state: str
    nonce: str
    pkce: Pkce
    client_id: str
    redirect_uri: str


class Browser:
    """One user agent: its own cookie jar, never following redirects (the tests look at each hop)."""

    def __init__(self, cloud: localcloud.LocalCloud, realm: str = "aliyun") -> None:
        self.cloud, self.realm = cloud, realm
        self.http = httpx.Client(trust_env=False, follow_redirects=False, timeout=10.0)

    def close(self) -> None:
        self.http.close()

    def url(self, name: str) -> str:
        return f"{self.cloud.urls.issuer(self.realm)}/{name}"

    def authorize(self, client_id: str, redirect_uri: str, pkce: Pkce | None = None, **extra: str) -> httpx.Response:
        params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
                  "code_challenge": (pkce or Pkce()).challenge, "code_challenge_method": "S256", **extra}
        return self.http.get(self.url("authorize"), params={k: v for k, v in params.items() if v is not None})

    def login(self, request_id: str, username: str, password: str) -> httpx.Response:
        return self.http.post(self.url("login"),
                              data={"request_id": request_id, "username": username, "password": password})

    def consent(self, request_id: str, decision: str) -> httpx.Response:
        return self.http.post(self.url("consent"), data={"request_id": request_id, "decision": decision})

    def follow(self, response: httpx.Response) -> httpx.Response:
        assert response.status_code in (302, 303), response.text[:300]
        return self.http.get(response.headers["location"])

    def sign_in(self, client_id: str, redirect_uri: str, username: str = "alice", password: str = "demo",
                **extra: str) -> SignIn:
        """The whole browser leg: authorize → login (unless signed in) → consent → back with a code."""
        pkce, state, nonce = Pkce(), secrets.token_urlsafe(12), secrets.token_urlsafe(12)
        page = self.authorize(client_id, redirect_uri, pkce, state=state, nonce=nonce, **extra)
        assert page.status_code == 200, page.text[:300]
        if is_login_form(page):
            page = self.follow(self.login(request_id_of(page), username, password))
        assert is_consent_form(page), page.text[:300]
        answer = self.consent(request_id_of(page), "approve")
        assert answer.status_code == 302 and answer.headers["location"].startswith(redirect_uri)
        params = query_of(answer)
        assert params["state"] == state
        return SignIn(params["code"], state, nonce, pkce, client_id, redirect_uri)


def post_form(cloud: localcloud.LocalCloud, realm: str, endpoint: str, data: dict[str, str],
              auth: tuple[str, str] | None = None, **kwargs: Any) -> httpx.Response:
    """A back-channel POST (token, revoke, introspect) to the realm's internal endpoint."""
    url = f"{cloud.url}/oauth/{realm}/{endpoint}"
    return httpx.post(url, data=data, auth=auth, trust_env=False, timeout=10.0, **kwargs)


def exchange(cloud: localcloud.LocalCloud, sign_in: SignIn, realm: str = "aliyun",
             auth: tuple[str, str] | None = None, **overrides: str) -> httpx.Response:
    """The token request the sample makes: code, client_id, redirect_uri, code_verifier, no secret."""
    data = {"grant_type": "authorization_code", "code": sign_in.code, "redirect_uri": sign_in.redirect_uri,
            "code_verifier": sign_in.pkce.verifier, "client_id": sign_in.client_id, **overrides}
    return post_form(cloud, realm, "token", {k: v for k, v in data.items() if v is not None}, auth)


def refresh(cloud: localcloud.LocalCloud, client_id: str, refresh_token: str, realm: str = "aliyun",
            **extra: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id, **extra}
    return post_form(cloud, realm, "token", data)


def userinfo(cloud: localcloud.LocalCloud, access_token: str, realm: str = "aliyun") -> httpx.Response:
    return httpx.get(f"{cloud.url}/oauth/{realm}/userinfo", headers={"Authorization": f"Bearer {access_token}"},
                     trust_env=False, timeout=10.0)


def discovery(cloud: localcloud.LocalCloud, realm: str = "aliyun") -> dict[str, Any]:
    return httpx.get(cloud.urls.discovery(realm), trust_env=False, timeout=10.0).json()


def verify_id_token(cloud: localcloud.LocalCloud, id_token: str, client_id: str, nonce: str | None,
                    realm: str = "aliyun", **options: Any) -> dict[str, Any]:
    """What a relying party does: key from the JWKS by kid, RS256, iss, aud, exp and nonce."""
    meta = discovery(cloud, realm)
    keys = httpx.get(meta["jwks_uri"], trust_env=False, timeout=10.0).json()["keys"]
    kid = jwt.get_unverified_header(id_token)["kid"]
    key = jwt.PyJWK(next(k for k in keys if k["kid"] == kid)).key
    claims = jwt.decode(id_token, key, algorithms=["RS256"], audience=client_id, issuer=meta["issuer"],
                        options={"require": ["exp", "iat", "sub", "aud", "iss"], **options})
    assert claims.get("nonce") == nonce
    return claims
