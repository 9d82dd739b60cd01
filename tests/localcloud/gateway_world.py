"""A localcloud set up for the AI Gateway tests, through the official clients: the sample's identities, the order
service's credential provider `mcp-order-oauth2`, users signed in, their workload access tokens, policy sets.

The module's localcloud has a movable clock (tokens can expire without touching the session-wide one); each test
attaches a policy set of its own to the one gateway and detaches it afterwards.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
from alibabacloud_agentidentity20250901 import models as ai
from alibabacloud_agentidentity20250901.client import Client as ControlClient
from alibabacloud_agentidentitydata20251127 import models as data
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

import localcloud
from lab.browser import Browser, query_of
from localcloud.gateway import CREDENTIAL_PROVIDER
from localcloud.oidc import demo_users
from localcloud.store import open_store
from tests.conftest import tea_config
from tests.localcloud.order_support import consent as order_consent
from tests.localcloud.resource_credentials import MovableClock
from tests.localcloud.sample_setup import RETURN_URL, SampleSetup, data_client, prepare
from tests.localcloud.test_consent_flow import complete, sign_in

MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@dataclass
class GatewayWorld:
    """A provisioned localcloud, its clock, the demo users' subjects and their ID tokens and WATs."""

    cloud: localcloud.LocalCloud
    clock: MovableClock
    sample: SampleSetup
    subjects: dict[str, str]
    id_tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.cloud.env()["AI_GATEWAY_MCP_SERVER"]

    @property
    def control(self) -> ControlClient:
        return ControlClient(tea_config(self.cloud))

    @contextmanager
    def later(self, seconds: float) -> Iterator[None]:
        """localcloud's clock moved `seconds` ahead for the block."""
        self.clock.offset = seconds
        try:
            yield
        finally:
            self.clock.offset = 0.0

    def wat(self, username: str) -> str:
        """A workload access token acting for a signed-in demo user (GetWorkloadAccessTokenForJWT)."""
        return data_client(self.cloud).get_workload_access_token_for_jwt(data.GetWorkloadAccessTokenForJWTRequest(
            workload_identity_name=self.sample.workload, user_token=self.id_tokens[username],
        )).body.workload_access_token


def _create_order_provider(cloud: localcloud.LocalCloud) -> None:
    env = cloud.env()
    config = ai.CustomOAuth2ProviderConfig(
        client_id=env["ORDER_CLIENT_ID"], client_secret=env["ORDER_CLIENT_SECRET"],
        oauth2_discovery=ai.OAuth2Discovery(
            discovery_url=f"{env['ORDER_SERVICE_URL']}/.well-known/oauth-authorization-server"))
    ControlClient(tea_config(cloud)).create_oauth2_credential_provider(ai.CreateOAuth2CredentialProviderRequest(
        oauth2_credential_provider_name=CREDENTIAL_PROVIDER, credential_provider_vendor="CustomOAuth2",
        oauth2_provider_config=ai.OAuth2ProviderConfig(custom_oauth2_provider_config=config),
        callback_url=f"{cloud.urls.data_plane_callback_prefix()}{CREDENTIAL_PROVIDER}"))


def start_gateway_world(data_dir: Path, users: tuple[str, ...] = ("alice", "bob")) -> GatewayWorld:
    """A fresh localcloud with the sample provisioned, the order provider, and `users` signed in."""
    clock = MovableClock()
    cloud = localcloud.start(port=0, data_dir=data_dir, clock=clock)
    store = open_store(data_dir, time.time)
    try:
        subjects = {user.username: user.sub for user in demo_users(store)}
    finally:
        store.close()
    world = GatewayWorld(cloud, clock, prepare(cloud), subjects)
    _create_order_provider(cloud)
    for username in users:
        with Browser() as browser:
            world.id_tokens[username] = sign_in(cloud, world.sample, browser, username)
    return world


# -- policy sets --------------------------------------------------------------------------------
def definition(statement: str) -> ai.Definition:
    return ai.Definition(cedar=ai.DefinitionCedar(statement=statement))


@dataclass
class AttachedSet:
    """A policy set of the test's own, attached to the gateway."""

    world: GatewayWorld
    name: str
    policies: list[str] = field(default_factory=list)

    def add(self, policy: str, statement: str) -> None:
        self.world.control.create_policy(ai.CreatePolicyRequest(policy_set_name=self.name, policy_name=policy,
                                                                definition=definition(statement)))
        self.policies.append(policy)

    def update(self, policy: str, statement: str) -> None:
        self.world.control.update_policy(ai.UpdatePolicyRequest(policy_set_name=self.name, policy_name=policy,
                                                                definition=definition(statement)))

    def mode(self, enforcement_mode: str) -> None:
        self.world.control.update_gateway_policy_config(ai.UpdateGatewayPolicyConfigRequest(
            gateway_arn=self.world.cloud.gateway_arn, gateway_type="AIGateway", enforcement_mode=enforcement_mode))


@contextmanager
def attached_set(world: GatewayWorld, policies: dict[str, str], mode: str = "ENFORCE") -> Iterator[AttachedSet]:
    """A new policy set holding `policies` (name → Cedar statement), attached in `mode`; removed afterwards."""
    name = f"gw-test-{uuid.uuid4().hex[:10]}"
    control = world.control
    control.create_policy_set(ai.CreatePolicySetRequest(policy_set_name=name))
    attached = AttachedSet(world, name)
    for policy, statement in policies.items():
        attached.add(policy, statement)
    control.attach_policy_set_to_gateway(ai.AttachPolicySetToGatewayRequest(
        policy_set_name=name, gateway_arn=world.cloud.gateway_arn, gateway_type="AIGateway", enforcement_mode=mode))
    try:
        yield attached
    finally:
        control.detach_policy_set_from_gateway(ai.DetachPolicySetFromGatewayRequest(
            policy_set_name=name, gateway_arn=world.cloud.gateway_arn, gateway_type="AIGateway"))
        for policy in attached.policies:
            control.delete_policy(ai.DeletePolicyRequest(policy_set_name=name, policy_name=policy))
        control.delete_policy_set(ai.DeletePolicySetRequest(policy_set_name=name))


# -- MCP through the official client --------------------------------------------------------------
def with_session(url: str, token: str | None, use: Callable[[ClientSession], Awaitable[Any]]) -> Any:
    """Run `use` in an initialized MCP session that sends `Authorization: Bearer <token>`; an MCP error comes out
    as itself, not inside the client's exception group."""
    async def run() -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx2.AsyncClient(headers=headers, trust_env=False, timeout=20)
        async with client, streamable_http_client(url, http_client=client) as (read, write), \
                ClientSession(read, write) as session:
            try:
                await session.initialize()
                return await use(session)
            except MCPError as error:
                failed = error
        raise failed
    return anyio.run(run)


def call_tool(world: GatewayWorld, wat: str, tool: str, arguments: dict[str, Any] | None = None) -> Any:
    return with_session(world.url, wat, lambda session: session.call_tool(tool, arguments or {}))


def listed(world: GatewayWorld, wat: str) -> list[str]:
    async def use(session: ClientSession) -> list[str]:
        return [tool.name for tool in (await session.list_tools()).tools]
    return list(with_session(world.url, wat, use))


def raw_call(world: GatewayWorld, authorization: str | None, tool: str,
             arguments: dict[str, Any] | None = None) -> httpx.Response:
    """One tools/call POST over plain HTTP (stateless: no initialize needed), to read statuses and bodies."""
    headers = {**MCP_HEADERS, **({"Authorization": authorization} if authorization else {})}
    message = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
               "params": {"name": tool, "arguments": arguments or {}}}
    return httpx.post(world.url, json=message, headers=headers, trust_env=False, timeout=20)


# -- consent at the order service --------------------------------------------------------------------
def consent_through_gateway(world: GatewayWorld, username: str, url: str) -> dict[str, str]:
    """The user opens the elicitation's URL, signs in at the order service and allows; then the app completes the
    session for its user (CompleteResourceTokenAuth). The return URL's query (`session_uri`, `state`)."""
    with Browser() as browser:
        back = query_of(order_consent(browser, url, username, stop_at=RETURN_URL))
    complete(world.cloud, back["session_uri"], world.id_tokens[username])
    return back
