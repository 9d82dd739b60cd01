"""The app's process-wide runtime: settings, where calls go, and the official clients, built once per server.

Every session shares it. It is a plain process singleton, not `st.cache_resource`: any websocket client may send
Streamlit's `clear_cache`, and that must not drop the broker's pending consents, Disconnect marks and activity log.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import anyio
import streamlit as st
from starlette.requests import Request

from agent.runtime import AgentRuntime, build_agent_runtime
from identity.broker import CredentialBroker
from identity.errors import IdentityError, SettingsError
from identity.provision import read_config
from identity.settings import Settings, load_settings
from identity.signin import LoginSessionStore, OidcProvider, request_user
from identity.store import app_state_dir
from identity.users import SignedInUser
from web import HostAllowlist, host_allowlist

__all__ = ["AppRuntime", "app_state_dir", "app_url", "build_runtime", "consent_user", "current_broker",
           "get_runtime", "host_names", "local_cloud_url", "login_sessions", "oidc_provider", "provider_logout_url",
           "reset_runtime", "runtime_lifespan", "secure_cookies", "xsrf_check"]

_LOG = logging.getLogger(__name__)
_RUNTIME: list[AppRuntime] = []  # at most one: this process's runtime, once built
_RUNTIME_LOCK = threading.Lock()


@dataclass(frozen=True)
class AppRuntime(AgentRuntime):
    """What every page needs and no user owns: the agent's runtime, the login sessions and the setup token."""

    sessions: LoginSessionStore = field(default=None, repr=False)  # type: ignore[assignment]  # always given
    setup_token: str | None = field(default=None, repr=False)  # for the first Provision in cloud mode


def build_runtime(environ: Mapping[str, str], secrets: Mapping[str, Any]) -> AppRuntime:
    """Resolve the settings, connect (starting localcloud in local mode) and make the client factory."""
    core = build_agent_runtime(environ, secrets)
    return AppRuntime(core.settings, core.target, core.clients, core.broker, core.chats,
                      sessions=LoginSessionStore(core.database), setup_token=_setup_token(core.settings))


def _setup_token(settings: Settings) -> str | None:
    """APP_SETUP_TOKEN; in cloud mode without one, a fresh token printed once to the server log for the operator
    (only whoever reads the server's log may run the first Provision against the account)."""
    if settings.setup_token or settings.is_local:
        return settings.setup_token
    token = secrets.token_urlsafe(18)
    _LOG.warning("Setup token for the first Provision (set APP_SETUP_TOKEN to choose your own): %s", token)
    return token


def _secrets() -> dict[str, Any]:
    """`st.secrets` as a plain dict; empty when there is no secrets file, an error when one is unreadable."""
    try:
        return st.secrets.to_dict()
    except FileNotFoundError as exc:  # Streamlit's "no secrets" error, also raised for a malformed file
        if any(Path(path).is_file() for path in st.get_option("secrets.files")):
            raise SettingsError(f"The secrets file could not be read: {exc}") from None
        return {}


def get_runtime() -> AppRuntime:
    """The one runtime of this server process; raises SettingsError (not kept) when a setting is bad."""
    if not _RUNTIME:
        with _RUNTIME_LOCK:
            if not _RUNTIME:
                _RUNTIME.append(build_runtime(os.environ, _secrets()))
    return _RUNTIME[0]


def reset_runtime() -> None:
    """Forget this process's runtime, so the next `get_runtime` reads the settings again (tests do; the app never)."""
    with _RUNTIME_LOCK:
        for runtime in _RUNTIME:
            runtime.close()
        _RUNTIME.clear()
        _names_from_settings.cache_clear()


def local_cloud_url() -> str | None:
    """The built-in localcloud's `http://127.0.0.1:PORT`, or None when this app runs none."""
    try:
        local = get_runtime().target.local
    except IdentityError:  # the pages say what is wrong; the proxy just has nowhere to go
        return None
    return local.url if local is not None else None


def login_sessions() -> LoginSessionStore | None:
    """The login session store for the sign-in routes, or None when the settings are bad (pages say why)."""
    try:
        return get_runtime().sessions
    except IdentityError:
        return None


def secure_cookies() -> bool:
    """Whether cookies get `Secure`: the app's public URL is https."""
    try:
        return get_runtime().settings.app_url.startswith("https://")
    except IdentityError:
        return False


def _register_components() -> None:
    """Streamlit serves a component's files only after a script run declared it, in that process: behind a load
    balancer the sign-in button's frame may be fetched from a replica that never drew the Login page. Registered
    with the server, every replica serves it."""
    import streamlit_oauth
    from streamlit import runtime

    if runtime.exists():
        runtime.get_instance().component_registry.register_component(streamlit_oauth._authorize_button)


@asynccontextmanager
async def runtime_lifespan(_app: object) -> AsyncIterator[None]:
    """`st.App` lifespan: build the runtime as the server starts, so `/lc/…` answers before any page view."""
    _register_components()
    try:
        await anyio.to_thread.run_sync(get_runtime)
    except IdentityError as exc:
        _LOG.warning("The app could not start its runtime; every page will say why: %s", exc)
    yield


def consent_user(request: Request) -> SignedInUser | None:
    """The signed-in user of the browser making an app-route request (its login-session cookie)."""
    try:
        sessions = get_runtime().sessions
    except IdentityError:
        return None
    return request_user(sessions, request, time.time(), secure=secure_cookies())


def current_broker() -> CredentialBroker:
    return get_runtime().broker


def app_url() -> str:
    """The app's public URL, for links back from route pages."""
    try:
        return get_runtime().settings.app_url
    except IdentityError:
        return "/"


def host_names() -> HostAllowlist:
    """The Host names and Origins the app answers for (its URL's, loopback on its ports, APP_ALLOWED_HOSTS); with
    settings that do not load, loopback only. Asked on every request from the event loop, so it never builds the
    runtime (that may start localcloud) and reads no file once the runtime exists."""
    if _RUNTIME:
        app_url, extra = _RUNTIME[0].settings.app_url, _RUNTIME[0].settings.allowed_hosts
    else:
        app_url, extra = _names_from_settings()
    return _host_names(app_url, int(st.get_option("server.port")), extra)


@functools.lru_cache(maxsize=1)
def _names_from_settings() -> tuple[str, tuple[str, ...]]:
    """Before (or without) a runtime: the app URL and extra names from the settings, read once."""
    try:
        settings = load_settings(os.environ, secrets=_secrets())
    except IdentityError:
        return "http://localhost", ()
    return settings.app_url, settings.allowed_hosts


@functools.lru_cache(maxsize=4)
def _host_names(app_url: str, port: int, extra: tuple[str, ...]) -> HostAllowlist:
    return host_allowlist(app_url, (port,), extra)


def xsrf_check() -> Callable[[str | None, str | None], bool] | None:
    """Streamlit's own XSRF token check for the websocket, when its XSRF protection is on (the default)."""
    from streamlit.web.server.server_util import is_xsrf_enabled
    from streamlit.web.server.starlette.starlette_app_utils import validate_xsrf_token

    return validate_xsrf_token if is_xsrf_enabled() else None


def provider_logout_url() -> str | None:
    """Where `/auth/logout` sends the browser next: the sign-in server's `end_session_endpoint` with this app's
    client id and its URL to come back to, or None when the discovery document names no such endpoint (then the
    sign-in server's session outlives the app's: README says what a shared computer needs)."""
    try:
        runtime = get_runtime()
        client_id = read_config(runtime.settings.config_json).get("inbound_app_id")
        endpoint = oidc_provider(runtime.target.oauth_discovery_url).metadata().document.get("end_session_endpoint")
    except IdentityError:
        return None
    if not client_id or not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        return None
    query = urlencode({"client_id": client_id, "post_logout_redirect_uri": f"{runtime.settings.app_url}/"})
    return f"{endpoint}?{query}"


@functools.lru_cache(maxsize=2)
def oidc_provider(discovery_url: str) -> OidcProvider:
    """One discovery and JWKS cache per sign-in server for the whole process (the Login page and `/auth/logout`)."""
    return OidcProvider(discovery_url)
