"""Agent fixtures: a provisioned localcloud (with its DashScope stand-in), alice and bob signed in for real."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import localcloud
from agent import ConsentNeeded, Event, TurnContext, run_turn
from identity import provision
from identity.broker import CredentialBroker
from identity.clients import Clients
from identity.cloud import CloudTarget, connect
from identity.settings import Settings, load_settings
from identity.signin.sealing import new_secret, secret_hash
from identity.users import SignedInUser
from lab.browser import Browser, query_of
from tests.localcloud.order_support import consent as order_consent
from tests.support import give_consent, scripted_id_token, user_of
from tools.services import MCP_SCOPES


@dataclasses.dataclass
class AgentWorld:
    cloud: localcloud.LocalCloud
    settings: Settings
    target: CloudTarget
    clients: Clients
    users: dict[str, SignedInUser]
    directory: Path

    @property
    def alice(self) -> SignedInUser:
        return self.users["alice"]


def sign_in(cloud: localcloud.LocalCloud, settings: Settings, username: str) -> SignedInUser:
    """A real authorization-code + PKCE sign-in at localcloud, scripted like a browser."""
    return user_of(scripted_id_token(cloud, settings, username), username)


def app_settings(cloud: localcloud.LocalCloud, directory: Path) -> Settings:
    """Local-mode settings as the app resolves them by default: its own localcloud (here: the running one, by
    data directory), whose DashScope stand-in answers as the model."""
    environ = {"LOCALCLOUD_PORT": "0", "LOCALCLOUD_DATA_DIR": str(cloud.data_dir),
               "CONFIG_JSON": str(directory / ".config.json")}
    return load_settings(environ, config_file=directory / "config.yml")


def provisioned_world(cloud: localcloud.LocalCloud, directory: Path, usernames: Iterable[str]) -> AgentWorld:
    """The app's settings on `cloud`, everything provisioned, and these demo users signed in for real."""
    settings = app_settings(cloud, directory)
    clients = Clients(connect(settings))
    provision.apply(clients, settings)
    users = {name: sign_in(cloud, settings, name) for name in usernames}
    return AgentWorld(cloud, settings, clients.target, clients, users, directory)


@pytest.fixture(scope="module")
def agent_world(tmp_path_factory: pytest.TempPathFactory) -> AgentWorld:
    directory = tmp_path_factory.mktemp("agent")
    return provisioned_world(localcloud.start(port=0, data_dir=directory / "lc"), directory, ("alice", "bob"))


@pytest.fixture
def broker(agent_world: AgentWorld) -> CredentialBroker:
    """A fresh broker per test: nothing cached here (the vault in localcloud keeps what was approved)."""
    return CredentialBroker(agent_world.clients, agent_world.settings)


def context(agent_world: AgentWorld, broker: CredentialBroker, user: str = "alice", **overrides: Any) -> TurnContext:
    return TurnContext.of(agent_world.users[user], broker, agent_world.target, **overrides)


def mcp_provider(agent_world: AgentWorld) -> tuple[str, tuple[str, ...]]:
    return agent_world.settings.mcp_oauth_provider_name, MCP_SCOPES


def forget_consent(agent_world: AgentWorld, broker: CredentialBroker, provider: str, scopes: tuple[str, ...],
                   user: str = "alice") -> None:
    """Make the next use of this OAuth2 credential ask for consent again (ForceAuthentication)."""
    broker.disconnect(agent_world.users[user], "oauth2", provider, scopes)


def decide(agent_world: AgentWorld, broker: CredentialBroker, consent: ConsentNeeded, decision: str = "approve",
           user: str = "alice") -> None:
    """What the user's browser and the app's /callback route do: approve (or deny) at the provider, then
    complete (or decline) the consent for the signed-in user."""
    give_consent(broker, agent_world.users[user], consent.state, user, agent_world.settings.consent_return_url,
                 decision)


def decide_at_orders(agent_world: AgentWorld, broker: CredentialBroker, consent: ConsentNeeded,
                     decision: str = "approve", user: str = "alice") -> dict[str, str]:
    """The AI Gateway's consent, as the user's browser and the app's routes give it: Authorize (the app's route binds
    the consent to this browser), the order service's own sign-in and its Allow (or Deny), back through the data
    plane to the app's /callback, which completes (or declines) it. The return's query."""
    cookie, signed_in = secret_hash(new_secret()), agent_world.users[user]
    started = broker.authorize_consent(signed_in, consent.state, cookie)
    with Browser() as browser:
        landed = order_consent(browser, started.authorization_url, user, decision,
                               stop_at=agent_world.settings.consent_return_url)
    back = query_of(landed)
    if back.get("error"):
        broker.decline_consent(signed_in, back["state"], f"provider: {back['error']}")
    else:
        broker.complete_consent(signed_in, back["state"], back["session_uri"], cookie)
    return back


@pytest.fixture
def approver() -> Iterator[ThreadPoolExecutor]:
    """Another thread for the user's browser, so the turn can wait while the consent is given."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool


def run(turn: Iterable[Event], on_consent: Any = None) -> tuple[list[Event], list[Future[None]]]:
    """All of a turn's events; `on_consent(event)` is started for each ConsentNeeded while the turn waits."""
    events, started = [], []
    for event in turn:
        events.append(event)
        if isinstance(event, ConsentNeeded) and on_consent is not None:
            started.append(on_consent(event))
    return events, started


def turn(agent_world: AgentWorld, broker: CredentialBroker, text: str, history: list[dict[str, Any]] | None = None,
         user: str = "alice", **overrides: Any) -> Iterator[Event]:
    return run_turn(context(agent_world, broker, user, **overrides), history or [], text)
