"""What every benchmark runs against: a provisioned localcloud, the broker, a signed-in user, and the app's
consent return route served by uvicorn in a thread (as the app serves it)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import localcloud
from bench.environment import free_port, served
from identity import provision
from identity.broker import ConsentRequired, CredentialBroker
from identity.broker.routes import CONSENT_AUTHORIZE_PATH, CONSENT_RETURN_PATH, authorize_link, consent_routes
from identity.clients import Clients
from identity.cloud import connect
from identity.settings import Settings, load_settings
from identity.users import SignedInUser
from lab.browser import Browser, pkce_pair, query_of
from lab.order_consent import order_consent
from tools.services import MCP_SCOPES

__all__ = ["SESSION_COOKIE", "ReturnServer", "World", "approve_consent", "authorize_url", "build_world",
           "ensure_consented", "user_of"]

SESSION_COOKIE = "bench_session"

Endpoint = Callable[[Request], Awaitable[Response]]


class ReturnServer:
    """`GET /callback` on its own port: our consent return route, or the sample's for SDK-started consents.

    The arrival time of every return is kept by state: latency is measured from there.
    """

    def __init__(self, port: int, ours: Endpoint, authorize: Endpoint) -> None:
        self.port, self.url = port, f"http://127.0.0.1:{port}"
        self.arrivals: dict[str, float] = {}
        self.sdk_handler: Endpoint | None = None
        self._ours = ours
        self._app = Starlette(routes=[Route(CONSENT_RETURN_PATH, self._dispatch, methods=["GET"]),
                                      Route(CONSENT_AUTHORIZE_PATH, authorize, methods=["GET"])])
        self._running = ExitStack()

    async def _dispatch(self, request: Request) -> Response:
        state = request.query_params.get("state", "")
        self.arrivals[state] = time.perf_counter()
        if self.sdk_handler is not None and state.startswith("sdk-"):
            return await self.sdk_handler(request)
        return await self._ours(request)

    def start(self) -> None:
        self._running.enter_context(served(self._app, port=self.port, lifespan="off"))

    def stop(self) -> None:
        self._running.close()


@dataclass
class World:
    """A provisioned local cloud and the app's identity layer, with alice signed in."""

    cloud: localcloud.LocalCloud
    settings: Settings
    clients: Clients
    broker: CredentialBroker
    server: ReturnServer
    browser: Browser
    user: SignedInUser
    workdir: Path
    users: dict[str, SignedInUser] = field(default_factory=dict)

    @property
    def mcp(self) -> tuple[str, tuple[str, ...]]:
        """The OAuth2 credential the time and MCP tools use: (provider, scopes), as tools/ declares it."""
        return self.settings.mcp_oauth_provider_name, MCP_SCOPES

    def fresh_broker(self) -> CredentialBroker:
        """A broker with nothing cached (the app's process just started)."""
        return CredentialBroker(self.clients, self.settings)

    def close(self) -> None:
        self.server.stop()
        self.browser.close()


def _settings(cloud: localcloud.LocalCloud, workdir: Path, app_url: str) -> Settings:
    """Local mode as the app resolves it by default (so the model is localcloud's DashScope stand-in), on the
    running localcloud; its pages stay on its own origin (the app would proxy them under /lc)."""
    environ = {"AGENT_IDENTITY_MODE": "local", "LOCALCLOUD_PORT": str(cloud.port),
               "LOCALCLOUD_DATA_DIR": str(cloud.data_dir), "LOCALCLOUD_PUBLIC_URL": cloud.url,
               "CONFIG_JSON": str(workdir / ".config.json"), "APP_REDIRECT_URI": app_url}
    return load_settings(environ, config_file=workdir / "config.yml")


def sign_in(cloud: localcloud.LocalCloud, settings: Settings, browser: Browser, username: str) -> SignedInUser:
    """A real sign-in at localcloud's `aliyun` realm (PKCE); the ID token as the app would have verified it."""
    verifier, challenge = pkce_pair()
    client_id = provision.read_config(settings.config_json)["inbound_app_id"]
    redirect = settings.inbound_redirect_uri
    start = browser.get(f"{cloud.urls.issuer('aliyun')}/authorize?" + urlencode({
        "client_id": client_id, "redirect_uri": redirect, "response_type": "code", "scope": "openid profile aliuid",
        "state": "bench", "nonce": "bench", "code_challenge": challenge, "code_challenge_method": "S256"}))
    code = query_of(browser.sign_in_and_decide(start, username, "demo", "approve", redirect))["code"]
    tokens = browser.http.post(cloud.urls.oauth_endpoint("aliyun", "token"), data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect, "client_id": client_id,
        "code_verifier": verifier}).json()
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    return SignedInUser(claims["iss"], claims["sub"], claims.get("name", username), float(claims["exp"]),
                        tokens["id_token"], claims)


def build_world(cloud: localcloud.LocalCloud, workdir: Path) -> World:
    """Provision the sample's resources, start the return route, sign alice in (browser cookie included)."""
    port = free_port()
    settings = _settings(cloud, workdir, f"http://127.0.0.1:{port}")
    clients = Clients(connect(settings))
    cloud.warm_up()  # as the app's agent runtime does when it is built, before the first turn
    provision.apply(clients, settings)
    holder: dict[str, World] = {}
    authorize, back = consent_routes(lambda request: user_of(holder["world"], request),
                                     lambda: holder["world"].broker, lambda: settings.app_url)
    server = ReturnServer(port, back.endpoint, authorize.endpoint)
    server.start()
    browser = Browser()
    user = sign_in(cloud, settings, browser, "alice")
    browser.http.cookies.set(SESSION_COOKIE, "alice", domain="127.0.0.1")
    world = World(cloud, settings, clients, CredentialBroker(clients, settings), server, browser, user, workdir,
                  {"alice": user})
    holder["world"] = world
    return world


def user_of(world: World, request: Request) -> SignedInUser | None:
    """The browser's signed-in user, by its session cookie (stands in for the app's login sessions)."""
    return world.users.get(request.cookies.get(SESSION_COOKIE, ""))


def authorize_url(world: World, state: str) -> str:
    """The app's Authorize link for one of our broker's consents (it binds the consent to the browser)."""
    return authorize_link(world.settings.app_url, state)


def approve_consent(world: World, url: str, provider: str = "") -> int:
    """Alice's browser opens `url` (our Authorize link, or the SDK's authorization URL), approves at the provider
    and lands on the app's return route; that page's status. The order service (behind the AI Gateway) has a
    consent page of its own."""
    back = world.settings.consent_return_url
    if provider == world.settings.gateway.order_provider_name:
        landed = order_consent(world.browser, url, "alice", stop_at=back)
    else:
        landed = world.browser.sign_in_and_decide(world.browser.get(url), "alice", "demo", "approve", back)
    return world.browser.get(landed).status_code


ORDER_SCOPES = ("orders:read", "orders:write")  # what the gateway's plugin asks for (localcloud.gateway.config)


def order_token(world: World) -> str:
    """alice's order-service token, after her consent through the app's consent flow if she has not given it. The
    benchmarks hold it to call the order service directly; the app never does (the gateway injects it)."""
    provider = world.settings.gateway.order_provider_name
    try:
        return world.broker.oauth2_token(world.user, provider, ORDER_SCOPES).value
    except ConsentRequired as needed:
        approve_consent(world, authorize_url(world, needed.consent.state), provider)
    return world.broker.oauth2_token(world.user, provider, ORDER_SCOPES).value


def ensure_consented(world: World) -> None:
    """Alice has consented to the MCP provider once, so its token sits in the vault (and our cache)."""
    try:
        world.broker.oauth2_token(world.user, *world.mcp)
    except ConsentRequired as needed:
        status = approve_consent(world, authorize_url(world, needed.consent.state))
        if status != 200:
            raise RuntimeError(f"the consent return route answered {status}") from None
        world.broker.oauth2_token(world.user, *world.mcp)
