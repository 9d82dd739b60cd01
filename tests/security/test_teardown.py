"""Security suite, case 10: logout and teardown.

Sign-out (the Login page's button, then the `/auth/logout` route over real HTTP) leaves nothing of the user in
the app: no server session, no cached credential, no pending consent; only the user's disconnect marks stay (no
secret; a later sign-in must not quietly revive a disconnected token); another signed-in user keeps all of theirs.
Setup → Clear deletes every resource Provision created (checked through the official SDK
clients) and no secret of that deployment is left in any file: not in the working directory, not in the app's
state, and not in localcloud's data directory for what was deleted.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from alibabacloud_ram20150501 import models as ram
from streamlit.testing.v1 import AppTest

import localcloud
from agent import ChatStore, ToolFinished, recorded
from identity import provision
from identity.broker import ConsentRequired, PendingConsent
from identity.broker.cache import CacheKey
from identity.broker.routes import authorize_link
from identity.errors import CloudError
from identity.users import SignedInUser
from lab.browser import Browser
from tests.agent.conftest import AgentWorld, decide, run, turn
from tests.app.test_credentials_page import sign_in
from tests.app.test_setup_page import _open as open_setup_page
from tests.app.test_setup_page import _press as press
from tests.app.test_setup_page import signed_in
from tests.conftest import repo_root
from tests.identity.provision.test_engine import _leftovers
from tests.security.fault_support import app_routes, bounded, files_holding, provisioned_app, vaulted_tokens
from tools.documents import DINGTALK_SCOPES
from tools.services import MCP_SCOPES
from ui.runtime import AppRuntime, app_state_dir
from ui.signin import STATE_KEY, AuthState

APP = str(repo_root() / "app.py")
SAME_SITE = {"Sec-Fetch-Site": "same-origin"}
_NOTHING = {"cached": [], "open consents": []}


@pytest.fixture
def provisioned(fresh_cloud: localcloud.LocalCloud, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[AppRuntime]:
    yield from provisioned_app(fresh_cloud, tmp_path, monkeypatch)


# -- sign-out ------------------------------------------------------------------------------------------------------
def _leave_traces(runtime: AppRuntime, user: SignedInUser) -> PendingConsent:
    """What a signed-in user leaves in the broker: cached credentials, a disconnected mark and an open consent."""
    broker, settings = runtime.broker, runtime.settings
    broker.api_key(user, settings.api_key_provider_name)
    broker.sts_credentials(user)
    broker.disconnect(user, "oauth2", settings.mcp_oauth_provider_name, MCP_SCOPES)
    with pytest.raises(ConsentRequired) as needed:
        broker.oauth2_token(user, settings.dingtalk_oauth_provider_name, DINGTALK_SCOPES)
    return needed.value.consent


def _traces(runtime: AppRuntime, user: SignedInUser) -> dict[str, Any]:
    """What the broker still holds for a user: cached credential kinds, open consents, disconnected marks."""
    broker, workload = runtime.broker, runtime.broker.workload()
    keys = [CacheKey(user.key, workload, "workload"), CacheKey(user.key, workload, "sts"),
            CacheKey(user.key, workload, "api_key", runtime.settings.api_key_provider_name)]
    now = broker.clock()
    return {"cached": [key.kind for key in keys if broker.cache.peek(key) is not None],
            "open consents": [c.provider for c in broker.consents.of(user.key) if c.status_at(now) == "pending"],
            "disconnected": [key.provider for key in broker.marks.of(user.key)]}


def _approved_at_provider(consent: PendingConsent, username: str, return_url: str,
                          authorization_url: str | None = None) -> str:
    """The user's browser approves at the provider (at `authorization_url`, where the app's Authorize route sent
    it, else the consent's own link); the path and query it is sent back to on the app."""
    browser = Browser()
    try:
        landed = browser.sign_in_and_decide(browser.get(authorization_url or consent.authorization_url), username,
                                            "demo", "approve", return_url)
    finally:
        browser.close()
    parts = urlsplit(landed)
    return f"{parts.path}?{parts.query}"


def _signed_out_on_the_login_page(session_id: str) -> str:
    """Sign out with the Login page's button; the logout route the page then has the browser load."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[STATE_KEY] = AuthState(session_id=session_id)  # as the sign-in left this browser session
    at.run()
    assert [s.value for s in at.success] == ["Signed in as Alice Chen"]
    at.button(key="signin_sign_out").click().run()
    assert not at.exception and not at.success
    [image] = [body for body in (element.proto.body for element in at.get("html")) if "/auth/logout" in body]
    return re.fullmatch(r'<img src="(/auth/logout\?n=[\w-]+)" alt="" width="1" height="1" hidden>', image)[1]


def test_sign_out_clears_the_users_session_caches_consents_and_marks_and_nobody_elses(provisioned):
    alice, alice_session = sign_in(provisioned, "alice")
    bob, bob_session = sign_in(provisioned, "bob")
    alice_consent, bob_consent = _leave_traces(provisioned, alice), _leave_traces(provisioned, bob)
    settings = provisioned.settings
    full = {"cached": ["workload", "sts", "api_key"], "open consents": [settings.dingtalk_oauth_provider_name],
            "disconnected": [settings.mcp_oauth_provider_name]}
    assert _traces(provisioned, alice) == full and _traces(provisioned, bob) == full

    logout = _signed_out_on_the_login_page(alice_session)
    return_url = provisioned.settings.consent_return_url
    with app_routes() as base, httpx.Client(base_url=base, trust_env=False, timeout=30) as http:
        cleared = http.get(logout, headers={**SAME_SITE, "Sec-Fetch-Dest": "image",
                                            "Cookie": f"aid_session={alice_session}"})
        # alice's browser still approves the consent she started, and comes back with her old cookie
        late = http.get(_approved_at_provider(alice_consent, "alice", return_url),
                        headers={"Cookie": f"aid_session={alice_session}"})
        http.cookies.set("aid_session", bob_session)  # bob's browser: Authorize (binds it), approve, return
        started = http.get(authorize_link("", bob_consent.state))
        bobs = http.get(_approved_at_provider(bob_consent, "bob", return_url, started.headers["location"]))

    # the app's session ends, and the browser goes on to the sign-in server's own logout
    assert cleared.status_code == 303 and "/oauth/aliyun/logout?client_id=" in cleared.headers["location"]
    assert cleared.headers["set-cookie"].startswith("aid_session=; Max-Age=0; Path=/; HttpOnly")
    now = time.time()
    assert provisioned.sessions.lookup(alice_session, now).user is None
    assert _traces(provisioned, alice) == {**_NOTHING, "disconnected": [settings.mcp_oauth_provider_name]}
    again, _ = sign_in(provisioned, "alice")
    with pytest.raises(ConsentRequired):  # signing in again does not bring back the token she disconnected
        provisioned.broker.oauth2_token(again, settings.mcp_oauth_provider_name, MCP_SCOPES)
    assert late.status_code == 401 and "Sign in first" in late.text
    dingtalk = provisioned.settings.dingtalk_oauth_provider_name
    assert provisioned.broker.held_oauth2_token(alice, dingtalk, DINGTALK_SCOPES) is None  # nothing completed
    # bob is untouched: still signed in, his credentials, mark and consent are his, and his consent completes
    assert provisioned.sessions.user(bob_session, now).key == bob.key
    assert bobs.status_code == 200 and "Connected" in bobs.text
    assert _traces(provisioned, bob) == {**full, "open consents": []}
    assert provisioned.broker.held_oauth2_token(bob, dingtalk, DINGTALK_SCOPES) is not None


def test_the_logout_route_on_its_own_also_drops_the_users_credentials(provisioned):
    alice, alice_session = sign_in(provisioned, "alice")
    _leave_traces(provisioned, alice)

    with app_routes() as base, httpx.Client(base_url=base, trust_env=False, timeout=30) as http:
        typed = http.get("/auth/logout", headers={"Sec-Fetch-Site": "none", "Sec-Fetch-Dest": "document",
                                                  "Cookie": f"aid_session={alice_session}"})

    assert typed.status_code == 303 and provisioned.sessions.lookup(alice_session, time.time()).user is None
    assert _traces(provisioned, alice) == {**_NOTHING, "disconnected": [provisioned.settings.mcp_oauth_provider_name]}


# -- Setup → Clear ---------------------------------------------------------------------------------------------------
def _use_every_credential(runtime: AppRuntime, alice: SignedInUser) -> dict[str, str]:
    """A chat that uses each kind of credential (consents approved), as the Chat page records it; every secret
    value the app handled on the way, by label."""
    world = AgentWorld(runtime.target.local, runtime.settings, runtime.target, runtime.clients, {"alice": alice},
                       runtime.settings.config_json.parent)
    store = ChatStore.in_directory(app_state_dir(runtime.settings))
    chat = store.create_chat(alice.key)
    prompts = ("What's the weather in Beijing?", "What's on my schedule today?", "What time is it in Shanghai?",
               "Write 'teardown notes' to my DingTalk document")
    with ThreadPoolExecutor(max_workers=1) as pool:
        for prompt in prompts:
            events, futures = bounded(lambda p=prompt: run(
                recorded(store, alice.key, chat.id, turn(world, runtime.broker, p, store.history(alice.key, chat.id))),
                lambda event: pool.submit(decide, world, runtime.broker, event)), 90, prompt)
            for future in futures:
                future.result(timeout=60)
            finished = [event for event in events if isinstance(event, ToolFinished)]
            assert events[-1].ok and finished and all(f.ok for f in finished), prompt
    store.close()
    broker, settings = runtime.broker, runtime.settings
    sts = broker.sts_credentials(alice)
    return {"ID token": alice.id_token, "workload token": broker.workload_token(alice).value,
            "API key": broker.api_key(alice, settings.api_key_provider_name).value,
            "STS secret": sts.access_key_secret, "STS token": sts.security_token,
            "MCP token": broker.oauth2_token(alice, settings.mcp_oauth_provider_name, MCP_SCOPES).value,
            "DingTalk token": broker.oauth2_token(alice, settings.dingtalk_oauth_provider_name, DINGTALK_SCOPES).value}


def _ram_gone(runtime: AppRuntime, config: dict[str, Any]) -> bool:
    client = runtime.clients.ram()
    for lookup in (lambda: client.get_role(ram.GetRoleRequest(role_name=config["role_name"])),
                   lambda: client.get_policy(ram.GetPolicyRequest(policy_name=config["policy_name"],
                                                                  policy_type="Custom"))):
        with pytest.raises(CloudError) as missing:
            lookup()
        if not missing.value.is_not_found:
            return False
    return True


def test_clear_removes_every_resource_and_leaves_no_secret_in_any_file(provisioned, tmp_path):
    settings = provisioned.settings
    alice, session = sign_in(provisioned, "alice")
    handled = {**_use_every_credential(provisioned, alice), "login session id": session}
    config = provision.read_config(settings.config_json)
    deleted_secrets = {"API key": handled["API key"],
                       **vaulted_tokens(settings.localcloud_data_dir, config["workload_identity_name"])}
    assert {f"vaulted {settings.mcp_oauth_provider_name} refresh_token",
            f"vaulted {settings.dingtalk_oauth_provider_name} access_token"} <= set(deleted_secrets)
    assert files_holding([settings.localcloud_data_dir], {"API key": handled["API key"]})  # the scan does find

    at = press(press(signed_in(open_setup_page()).run(), "setup_clear"), "setup_clear_confirm")  # the admin
    assert at.status[0].label == "Clear finished"

    assert all(not items for items in _leftovers(provisioned.clients).values())
    assert _ram_gone(provisioned, config)
    assert not settings.config_json.exists()
    everything = {**handled, **deleted_secrets}
    assert files_holding([tmp_path, app_state_dir(settings)], everything) == {}
    # localcloud is the cloud: it may keep what a real one keeps (accounts, the DingTalk app, issued STS keys until
    # they expire), but nothing of the resources Clear deleted.
    assert files_holding([settings.localcloud_data_dir], deleted_secrets) == {}
