"""Real credentials for the resource-service tests, obtained the way the agent gets them: through the data plane.

Each test module gets its own localcloud with a movable clock (`World.clock.offset`), provisioned like the
sample, so tests can let tokens and STS keys expire without touching the session-wide localcloud.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from alibabacloud_agentidentity20250901 import models as ai
from alibabacloud_agentidentity20250901.client import Client as ControlClient
from alibabacloud_agentidentitydata20251127 import models as data

import localcloud
from lab.browser import Browser, pkce_pair, query_of
from localcloud.oidc import demo_users
from localcloud.store import open_store
from tests.conftest import tea_config
from tests.localcloud.sample_setup import INBOUND_REDIRECT, RETURN_URL, SampleSetup, data_client, prepare
from tests.localcloud.test_consent_flow import complete, consent, oauth2_token, workload_token

DINGTALK_PROVIDER = "test-provider-for-dingtalk"


@dataclass
class MovableClock:
    """Wall-clock time plus an offset a test may move forward."""

    offset: float = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass(frozen=True)
class StsKeys:
    access_key_id: str
    access_key_secret: str
    security_token: str


@dataclass
class CloudWorld:
    """A provisioned localcloud, its clock, and the demo users' subjects."""

    cloud: localcloud.LocalCloud
    clock: MovableClock
    sample: SampleSetup
    subjects: dict[str, str] = field(default_factory=dict)

    @contextmanager
    def later(self, seconds: float) -> Iterator[None]:
        """localcloud's clock moved `seconds` ahead for the block."""
        self.clock.offset = seconds
        try:
            yield
        finally:
            self.clock.offset = 0.0


def start_world(data_dir: Path) -> CloudWorld:
    """A fresh localcloud with the sample provisioned (and a DingTalk provider) and its users' subjects."""
    clock = MovableClock()
    cloud = localcloud.start(port=0, data_dir=data_dir, clock=clock)
    store = open_store(data_dir, time.time)
    try:
        subjects = {user.username: user.sub for user in demo_users(store)}
    finally:
        store.close()
    world = CloudWorld(cloud, clock, prepare(cloud), subjects)
    _create_dingtalk_provider(cloud)
    return world


def _create_dingtalk_provider(cloud: localcloud.LocalCloud) -> None:
    ControlClient(tea_config(cloud)).create_oauth2_credential_provider(ai.CreateOAuth2CredentialProviderRequest(
        oauth2_credential_provider_name=DINGTALK_PROVIDER, credential_provider_vendor="DingTalkOAuth2",
        oauth2_provider_config=ai.OAuth2ProviderConfig(included_oauth2_provider_config=ai.IncludedOAuth2ProviderConfig(
            client_id=cloud.dingtalk_client_id, client_secret=cloud.dingtalk_client_secret)),
        callback_url=f"{cloud.urls.data_plane_callback_prefix()}dingtalk"))


def user_workload_token(world: CloudWorld, username: str) -> str:
    """A workload access token acting for a demo user, vouched for by id (GetWorkloadAccessTokenForUserId)."""
    return data_client(world.cloud).get_workload_access_token_for_user_id(data.GetWorkloadAccessTokenForUserIdRequest(
        workload_identity_name=world.sample.workload, user_id=world.subjects.get(username, username),
    )).body.workload_access_token


def api_key(world: CloudWorld) -> str:
    """The weather key, as the tool gets it: GetResourceAPIKey."""
    return data_client(world.cloud).get_resource_apikey(data.GetResourceAPIKeyRequest(
        resource_credential_provider_name=world.sample.api_key_provider,
        workload_access_token=user_workload_token(world, "alice"))).body.apikey


def sts_keys(world: CloudWorld, username: str) -> StsKeys:
    """STS credentials for the workload acting for `username` (AssumeRoleForWorkloadIdentity, unsigned)."""
    client = data_client(world.cloud, access_key_id=None, access_key_secret=None)
    creds = client.assume_role_for_workload_identity(data.AssumeRoleForWorkloadIdentityRequest(
        workload_access_token=user_workload_token(world, username),
        role_session_name="AgentIdentitySessionRole-1")).body.credentials
    return StsKeys(creds.access_key_id, creds.access_key_secret, creds.security_token)


def inbound_tokens(world: CloudWorld, browser: Browser, username: str) -> dict[str, str]:
    """The sample's inbound login (code + PKCE S256): the token response, ID and access token."""
    verifier, challenge = pkce_pair()
    start = browser.get(f"{world.cloud.urls.issuer('aliyun')}/authorize?client_id={world.sample.inbound_app_id}"
                        f"&redirect_uri={INBOUND_REDIRECT}&response_type=code&scope=openid+profile+aliuid"
                        f"&state=s1&nonce=n1&code_challenge={challenge}&code_challenge_method=S256")
    landed = query_of(browser.sign_in_and_decide(start, username, "demo", "approve", INBOUND_REDIRECT))
    return browser.http.post(world.cloud.urls.oauth_endpoint("aliyun", "token"), data={
        "grant_type": "authorization_code", "code": landed["code"], "redirect_uri": INBOUND_REDIRECT,
        "client_id": world.sample.inbound_app_id, "code_verifier": verifier}).json()


def mcp_token(world: CloudWorld, browser: Browser, id_token: str, username: str) -> str:
    """An access token of the MCP app with `/acs/mcp-server`, after the user consents (USER_FEDERATION)."""
    wat = workload_token(world.cloud, world.sample, id_token)
    started = oauth2_token(world.cloud, world.sample, wat)
    consent(browser, started.authorization_url, username)
    complete(world.cloud, started.session_uri, id_token)
    return oauth2_token(world.cloud, world.sample, wat).access_token


def _dingtalk_request(world: CloudWorld, wat: str) -> data.GetResourceOAuth2TokenRequest:
    return data.GetResourceOAuth2TokenRequest(
        resource_credential_provider_name=DINGTALK_PROVIDER, scopes=["openid", "corpid"],
        oauth2_flow="USER_FEDERATION", workload_access_token=wat, resource_oauth2_return_url=RETURN_URL,
        custom_state="chat-ding")


def dingtalk_user_token(world: CloudWorld, browser: Browser, id_token: str, username: str) -> str:
    """A DingTalk access token for the user, after consent on the DingTalk stand-in's pages."""
    wat = workload_token(world.cloud, world.sample, id_token)
    request = _dingtalk_request(world, wat)
    started = data_client(world.cloud).get_resource_oauth2_token(request).body
    page = browser.follow(browser.get(started.authorization_url), RETURN_URL)
    assert not isinstance(page, str)
    browser.sign_in_and_decide(page, username, "demo", "approve", RETURN_URL)
    complete(world.cloud, started.session_uri, id_token)
    return data_client(world.cloud).get_resource_oauth2_token(request).body.access_token


def dingtalk_app_token(world: CloudWorld) -> str:
    """A DingTalk token for the app itself (M2M: client_credentials through the data plane)."""
    wat = data_client(world.cloud).get_workload_access_token(data.GetWorkloadAccessTokenRequest(
        workload_identity_name=world.sample.workload)).body.workload_access_token
    return data_client(world.cloud).get_resource_oauth2_token(data.GetResourceOAuth2TokenRequest(
        resource_credential_provider_name=DINGTALK_PROVIDER, scopes=["corpid"], oauth2_flow="M2M",
        workload_access_token=wat)).body.access_token
