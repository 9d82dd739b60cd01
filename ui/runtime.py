"""The app's process-wide runtime, in two layers built once per server: the core and the agent's runtime.

The core (settings, where calls go, the database, the login sessions) is what the Login page and the sign-in
routes need; the server starts building it in the background as it starts (in local mode that starts localcloud),
so `/_stcore/health` answers at once and a page that comes too early says "Starting the local cloud…". The agent's
runtime (the official clients, the broker, the chats: the Alibaba Cloud SDKs, DashScope and the MCP client) is
built on the first page or route that needs it.

Both are plain process singletons, not `st.cache_resource`: any websocket client may send Streamlit's
`clear_cache`, and that must not drop the broker's pending consents, Disconnect marks and activity log.
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
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import streamlit as st
from starlette.requests import Request

from identity.cloud import CloudTarget, connect
from identity.errors import CloudError, IdentityError, SettingsError
from identity.settings import Settings, load_settings
from identity.users import SignedInUser
from web import HostAllowlist, host_allowlist

if TYPE_CHECKING:
    from identity.broker import CredentialBroker
    from identity.clients import Clients
    from identity.signin import LoginSessionStore, OidcProvider
    from identity.store import Database, app_state_dir
    from ui.agent_runtime import AppRuntime

__all__ = ["AppCore", "AppRuntime", "app_state_dir", "app_url", "build_core", "consent_user", "core_starting",
           "current_broker", "get_core", "get_runtime", "host_names", "local_cloud_url", "login_sessions",
           "oidc_provider", "provider_logout_url", "reset_runtime", "runtime_lifespan", "secure_cookies",
           "setup_problem", "start_core", "starting_message", "xsrf_check"]

_LOG = logging.getLogger(__name__)
_CORE: list[AppCore] = []  # at most one: this process's core, once built
_RUNTIME: list[AppRuntime] = []  # at most one: this process's agent runtime, once built
_LOCK = threading.RLock()  # builds one at a time: the runtime is built on the core
_STARTING: list[threading.Thread] = []  # the background build the server starts with, while it runs


@dataclass(frozen=True)
class AppCore:
    """What every page and the sign-in routes need: settings, where calls go, the database, the login sessions."""

    settings: Settings
    target: CloudTarget
    database: Database = field(repr=False)
    sessions: LoginSessionStore = field(repr=False)
    setup_token: str | None = field(default=None, repr=False)  # for the first Provision in cloud mode

    def close(self) -> None:
        self.database.close()


def build_core(environ: Mapping[str, str], secrets: Mapping[str, Any]) -> AppCore:
    """Resolve the settings, open the database, connect (starting localcloud in local mode)."""
    from identity.signin import LoginSessionStore
    from identity.store import open_app_database

    settings = load_settings(environ, secrets=secrets)
    database = open_app_database(settings)  # first: a bad APP_DATABASE_URL is said before anything starts
    try:
        target = connect(settings)
    except BaseException:
        database.close()
        raise
    return AppCore(settings, target, database, LoginSessionStore(database), _setup_token(settings))


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


def get_core() -> AppCore:
    """The core of this server process, built on first use; raises SettingsError (not kept) when a setting is bad."""
    if not _CORE:
        with _LOCK:
            if not _CORE:
                _CORE.append(build_core(os.environ, _secrets()))
    return _CORE[0]


def get_runtime() -> AppRuntime:
    """The agent's runtime of this server process, on the core; built on first use (SDKs, broker, chats)."""
    if not _RUNTIME:
        with _LOCK:
            if not _RUNTIME:
                from ui.agent_runtime import build_runtime

                _RUNTIME.append(build_runtime(get_core()))
    return _RUNTIME[0]


def start_core() -> None:
    """Build the core in a background thread, once: the server answers meanwhile, and pages wait for it."""
    with _LOCK:
        if _CORE or _STARTING:
            return
        thread = threading.Thread(target=_build_core_quietly, name="app-core", daemon=True)
        _STARTING.append(thread)
    thread.start()


def _build_core_quietly() -> None:
    try:
        get_core()
        setup_problem()  # part of starting: the Login page offers sign-in only once it knows the setup can work
    except IdentityError as exc:  # not kept: the first page builds it again and says why
        _LOG.warning("The app could not start; every page will say why: %s", exc)
    finally:
        _STARTING.clear()


def core_starting() -> bool:
    """Whether the background build is still running (a page then says so and waits, instead of blocking)."""
    return not _CORE and bool(_STARTING)


def starting_message() -> str:
    """What a page says while the core starts."""
    settings = _settings_once()
    local = settings is None or (settings.is_local and not settings.localcloud_url)
    return "Starting the local cloud…" if local else "Starting…"


def setup_problem() -> str | None:
    """Why the provisioned `.config.json` cannot work with the cloud the app talks to (one line), or None.

    Checked with a few calls once per version of the file (Provision and Clear rewrite it, so each is checked
    again), and kept for the process; a cloud that does not answer is not a verdict: nothing is kept, and it is
    asked again after 30 s."""
    from identity.provision import read_config
    from identity.provision.diagnosis import gather_facts, needs_check
    from identity.provision.diagnosis import setup_problem as problem_of

    core = get_core()
    path = core.settings.config_json
    version = _file_version(path)
    if version not in _SETUP_CHECKS and time.monotonic() >= _SETUP_RETRY.get(version, 0.0):
        config = read_config(path)
        if not needs_check(config):
            _SETUP_CHECKS[version] = None
        else:
            try:
                facts = gather_facts(config, core.target, _setup_clients(core))
            except CloudError as exc:
                # Asked again a little later, not on every page view (each would wait out the clients' timeouts).
                _SETUP_RETRY[version] = time.monotonic() + _SETUP_RETRY_SECONDS
                _LOG.warning("The setup could not be checked: %s", exc)
                return None
            _SETUP_CHECKS[version] = problem_of(config, facts)
    return _SETUP_CHECKS.get(version)


_SETUP_CHECKS: dict[tuple[str, int, int] | None, str | None] = {}
_SETUP_RETRY: dict[tuple[str, int, int] | None, float] = {}  # when an unanswered check may be tried again
_SETUP_RETRY_SECONDS = 30.0


def _file_version(path: Path) -> tuple[str, int, int] | None:
    try:
        found = path.stat()
    except OSError:
        return None
    return str(path), found.st_mtime_ns, found.st_size


def _setup_clients(core: AppCore) -> Clients:
    """The agent runtime's clients when it exists; otherwise clients of the core's own (the Login page needs no
    broker, and the check must not build one)."""
    if _RUNTIME:
        return _RUNTIME[0].clients
    from identity.clients import Clients

    return Clients(core.target)


def reset_runtime() -> None:
    """Forget this process's runtime and core, so the next use reads the settings again (tests do; the app never)."""
    with _LOCK:
        for runtime in _RUNTIME:
            runtime.close()  # closes the core's database too
        if not _RUNTIME:
            for core in _CORE:
                core.close()
        _RUNTIME.clear()
        _CORE.clear()
        _SETUP_CHECKS.clear()
        _SETUP_RETRY.clear()
        _settings_once.cache_clear()


def __getattr__(name: str) -> object:
    # `AppRuntime` lives with the agent's imports, `app_state_dir` with SQLAlchemy's: loaded when first asked for.
    if name == "AppRuntime":
        from ui.agent_runtime import AppRuntime

        return AppRuntime
    if name == "app_state_dir":
        from identity.store import app_state_dir

        return app_state_dir
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def local_cloud_url() -> str | None:
    """The built-in localcloud's `http://127.0.0.1:PORT`, or None when this app runs none."""
    try:
        local = get_core().target.local
    except IdentityError:  # the pages say what is wrong; the proxy just has nowhere to go
        return None
    return local.url if local is not None else None


def login_sessions() -> LoginSessionStore | None:
    """The login session store for the sign-in routes, or None when the settings are bad (pages say why)."""
    try:
        return get_core().sessions
    except IdentityError:
        return None


def secure_cookies() -> bool:
    """Whether cookies get `Secure`: the app's public URL is https. Asked from the event loop: reads no more than
    the settings."""
    return _app_url_and_hosts()[0].startswith("https://")


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
    """`st.App` lifespan: start building the core as the server starts, without waiting for it."""
    _register_components()
    start_core()
    yield


def consent_user(request: Request) -> SignedInUser | None:
    """The signed-in user of the browser making an app-route request (its login-session cookie)."""
    try:
        sessions = get_core().sessions
    except IdentityError:
        return None
    from identity.signin import request_user

    return request_user(sessions, request, time.time(), secure=secure_cookies())


def current_broker() -> CredentialBroker:
    return get_runtime().broker


def app_url() -> str:
    """The app's public URL, for links back from route pages ("/" when the settings do not load)."""
    url = _app_url_and_hosts()[0]
    return "/" if url == _NO_APP_URL else url


def host_names() -> HostAllowlist:
    """The Host names and Origins the app answers for (its URL's, loopback on its ports, APP_ALLOWED_HOSTS); with
    settings that do not load, loopback only. Asked on every request from the event loop, so it never builds the
    runtime (that may start localcloud) and reads no file once the runtime exists."""
    app_url, extra = _app_url_and_hosts()
    return _host_names(app_url, int(st.get_option("server.port")), extra)


_NO_APP_URL = "http://localhost"  # with settings that do not load: loopback only


def _app_url_and_hosts() -> tuple[str, tuple[str, ...]]:
    """The app URL and extra host names: the core's, or before (or without) one, the settings' read once."""
    if _CORE:
        return _CORE[0].settings.app_url, _CORE[0].settings.allowed_hosts
    return _names_from_settings()


def _names_from_settings() -> tuple[str, tuple[str, ...]]:
    settings = _settings_once()
    return (_NO_APP_URL, ()) if settings is None else (settings.app_url, settings.allowed_hosts)


@functools.lru_cache(maxsize=1)
def _settings_once() -> Settings | None:
    """The settings read once, without building anything; None when they do not load (pages say why)."""
    try:
        return load_settings(os.environ, secrets=_secrets())
    except IdentityError:
        return None


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
    from identity.provision import read_config

    try:
        core = get_core()
        client_id = read_config(core.settings.config_json).get("inbound_app_id")
        endpoint = oidc_provider(core.target.oauth_discovery_url).metadata().document.get("end_session_endpoint")
    except IdentityError:
        return None
    if not client_id or not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        return None
    query = urlencode({"client_id": client_id, "post_logout_redirect_uri": f"{core.settings.app_url}/"})
    return f"{endpoint}?{query}"


@functools.lru_cache(maxsize=2)
def oidc_provider(discovery_url: str) -> OidcProvider:
    """One discovery and JWKS cache per sign-in server for the whole process (the Login page and `/auth/logout`)."""
    from identity.signin import OidcProvider

    return OidcProvider(discovery_url)
