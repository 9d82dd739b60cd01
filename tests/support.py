"""Helpers many test packages share: the app's local environment and a real, scripted sign-in."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import httpx
import jwt
import pytest
import streamlit as st
from starlette.applications import Starlette
from starlette.routing import Mount
from streamlit.testing.v1 import AppTest

import localcloud
from bench.environment import free_port as free_port  # the tests import both from here
from bench.environment import served as served
from identity import provision
from identity.broker import CredentialBroker
from identity.settings import Settings
from identity.signin import APP_STATE_DIRNAME, verify_id_token
from identity.signin.sealing import new_secret, secret_hash
from identity.store.database import DATABASE_FILE
from identity.users import SignedInUser
from lab.browser import Browser, pkce_pair, query_of
from ui.runtime import reset_runtime
from ui.signin import STATE_KEY, AuthState
from web.local_proxy import LOCALCLOUD_MOUNT, LocalCloudProxy

# Settings a developer's shell may hold that would point a test's app away from its own local cloud.
FOREIGN_SETTINGS = ("AGENT_IDENTITY_MODE", "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
                    "ALIBABA_CLOUD_PROFILE", "LOCALCLOUD_URL", "LOCALCLOUD_PUBLIC_URL", "INBOUND_REDIRECT_URI",
                    "AGENT_IDENTITY_WORKLOAD_IDENTITY_NAME", "API_KEY_PROVIDER_NAME", "DASHSCOPE_API_KEY",
                    "DASHSCOPE_MODEL_NAME", "MCP_SERVER", "LOCALCLOUD_DEMO_USERS")


def local_app_env(cloud: localcloud.LocalCloud, directory: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The app in local mode on this running localcloud, with a private `.config.json` (yielded) and a fresh
    runtime: AppTest runs pages in this process, so `st.cache_resource` must not keep another test's runtime."""
    for name in FOREIGN_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOCALCLOUD_PORT", "0")
    monkeypatch.setenv("LOCALCLOUD_DATA_DIR", str(cloud.data_dir))  # port 0 reuses the running one
    monkeypatch.setenv("CONFIG_JSON", str(directory / ".config.json"))
    monkeypatch.setenv("APP_REDIRECT_URI", "http://localhost:8501")
    monkeypatch.chdir(directory)  # no stray config.yml; anything relative lands in the test's directory
    st.cache_resource.clear()
    reset_runtime()
    # A database of the test's own: consents, Disconnect marks and the activity log outlive a runtime by design, and
    # the session's localcloud (so its `.appstate/` beside it) is shared by every test.
    for path in (cloud.data_dir.parent / APP_STATE_DIRNAME).glob(f"{DATABASE_FILE}*"):
        path.unlink()
    yield directory / ".config.json"
    st.cache_resource.clear()
    reset_runtime()


def scripted_id_token(cloud: localcloud.LocalCloud, settings: Settings, username: str, nonce: str | None = None,
                      browser: Browser | None = None) -> str:
    """A real sign-in at localcloud's sign-in server (authorization code + PKCE), scripted like a browser."""
    own = browser is None
    browser = browser or Browser()
    client_id = provision.read_config(settings.config_json)["inbound_app_id"]
    redirect, (verifier, challenge) = settings.inbound_redirect_uri, pkce_pair()
    query = {"client_id": client_id, "redirect_uri": redirect, "response_type": "code",
             "scope": "openid profile aliuid", "state": "s", "code_challenge": challenge,
             "code_challenge_method": "S256", **({"nonce": nonce} if nonce else {})}
    try:
        start = browser.get(f"{cloud.urls.issuer('aliyun')}/authorize?" + urlencode(query))
        code = query_of(browser.sign_in_and_decide(start, username, "demo", "approve", redirect))["code"]
        return browser.http.post(cloud.urls.oauth_endpoint("aliyun", "token"), data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect, "client_id": client_id,
            "code_verifier": verifier}).json()["id_token"]
    finally:
        if own:
            browser.close()


def user_of(id_token: str, username: str) -> SignedInUser:
    """The signed-in user an ID token names (for broker-level tests; the app's verification is tested apart)."""
    claims = jwt.decode(id_token, options={"verify_signature": False})
    return SignedInUser(claims["iss"], claims["sub"], claims.get("name", username), float(claims["exp"]), id_token,
                        claims)


def verified_sign_in(cloud: localcloud.LocalCloud, settings: Settings, discovery_url: str,
                     username: str) -> SignedInUser:
    """A user verified by the sign-in module itself (signature, issuer, audience, nonce), as the Login page does."""
    nonce = secrets.token_urlsafe(16)
    client_id = provision.read_config(settings.config_json)["inbound_app_id"]
    with httpx.Client(trust_env=False, timeout=10) as http:
        discovery = http.get(discovery_url).json()
        jwks = http.get(discovery["jwks_uri"]).json()
    return verify_id_token(scripted_id_token(cloud, settings, username, nonce), discovery=discovery, jwks=jwks,
                           client_id=client_id, nonce=nonce, now=time.time())


def open_page(page: str, session_id: str | None = None, timeout: float = 90) -> AppTest:
    """A page run by AppTest, as a browser tab that signed in (login session `session_id`) or did not."""
    at = AppTest.from_file(page, default_timeout=timeout)
    if session_id is not None:  # as the Login page leaves it: this session points at a login session
        at.session_state[STATE_KEY] = AuthState(session_id=session_id)
    at.run()
    assert not at.exception
    return at


@contextmanager
def served_local_proxy(localcloud_url: Callable[[], str]) -> Iterator[int]:
    """The app's `/lc` proxy (web/local_proxy.py), mounted as app.py mounts it, served by uvicorn; yields the port."""
    with served(Starlette(routes=[Mount(LOCALCLOUD_MOUNT, app=LocalCloudProxy(localcloud_url))])) as port:
        yield port


def give_consent(broker: CredentialBroker, user: SignedInUser, state: str, username: str, return_url: str,
                 decision: str = "approve", browser: Browser | None = None) -> dict[str, str]:
    """What the owner's browser and the app's consent routes do, through the real broker and localcloud's real
    pages: Authorize (binding the consent to this browser's cookie), approve or deny at the provider as `username`,
    then the return completes or declines it. The return's query (`state`, `session_uri` or `error`)."""
    cookie_hash = secret_hash(new_secret())
    consent = broker.authorize_consent(user, state, cookie_hash)
    own = browser is None
    browser = browser or Browser()
    try:
        landed = browser.sign_in_and_decide(browser.get(consent.authorization_url), username, "demo", decision,
                                            return_url)
    finally:
        if own:
            browser.close()
    back = query_of(landed)
    if back.get("error"):
        broker.decline_consent(user, back["state"], f"provider: {back['error']}")
    else:
        broker.complete_consent(user, back["state"], back["session_uri"], cookie_hash)
    return back
