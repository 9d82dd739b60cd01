"""Security case 4, secret hygiene: canaries planted where secrets live never come out unmasked.

One journey, as a person and the app would walk it, runs while every log record (root at DEBUG, Streamlit at
debug) and everything written to stdout/stderr is captured: Provision with a canary weather API key, a real
sign-in, a chat turn that uses all six tools with both consents approved in alice's browser and returned through
the app's own `/callback` route, then errors provoked on purpose (the API key rotated under a cached copy, a
missing provider, a wrong DashScope key, a DingTalk client secret the provider refuses), then the Chat, Credentials
and Setup pages under AppTest. The app runs the way `eval "$(python -m localcloud env)"` configures it, with two
settings of our own: DASHSCOPE_API_KEY is a canary, and DASHSCOPE_HTTP_BASE_URL a recording proxy in front of
localcloud's DashScope stand-in, so what the model was sent is read off the wire.

The canaries are the planted values plus every real secret of the run: the ID token, the login session id, the
workload access token, OAuth2 access and refresh tokens, STS AccessKeySecret and SecurityToken, localcloud's root
secret and control token, the DingTalk client secret and the stand-in's own DashScope key. Each test scans one
place and also checks that its scan reaches what it should (a fingerprint, a tool result), so a scan of nothing
cannot pass. Fingerprints (`sha256:…`) are the masked form and never match.
"""

from __future__ import annotations

import dataclasses
import json
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from alibabacloud_agentidentity20250901 import models as ai
from starlette.applications import Starlette
from starlette.testclient import TestClient
from streamlit.testing.v1 import AppTest

import localcloud
from agent import (
    ChatStore,
    ConsentNeeded,
    ModelConfig,
    ModelError,
    ToolFinished,
    TurnContext,
    TurnFailed,
    recorded,
    run_turn,
)
from agent.llm import stream_reply
from identity import provision
from identity.broker import CredentialBroker
from identity.broker.routes import authorize_link, consent_routes
from identity.errors import CloudError
from identity.signin import SESSION_COOKIE
from identity.users import SignedInUser
from lab.browser import Browser, BrowserError
from tests.agent.conftest import run
from tests.app.test_credentials_page import _rendered
from tests.conftest import repo_root
from tests.e2e.journey import stored_secrets
from tests.security.hygiene_support import Canaries, LogCapture, ModelRecorder, OutputCapture, canary, file_bytes
from tests.support import local_app_env, verified_sign_in
from tools import call_tool, weather_search
from tools.documents import DINGTALK_SCOPES
from ui.runtime import AppRuntime, app_state_dir, app_url, consent_user, current_broker, get_runtime
from ui.signin import STATE_KEY as AUTH_KEY
from ui.signin import AuthState

SIX_TOOLS = ("What's the weather in Beijing, what's on my schedule today, what time is it in Shanghai, list my ECS "
             "instances, read docs/welcome.md from OSS, and write 'hygiene notes' to my DingTalk document")
PAGE_PROMPT = "What's the weather in Beijing, what time is it in Shanghai, and list my ECS instances"
PAGES = {name: str(repo_root() / "pages" / f"{name}.py") for name in ("chat", "credentials", "setup")}
CONSENT_SECONDS = 60.0   # bounds, never timing assertions
REFUSED_CONSENT_SECONDS = 3.0  # a consent the provider cannot finish: the turn gives up after this
STARTED = "secret-hygiene journey: output capture is on"


@dataclass
class Trail:
    """Everything the journey produced that a person, a log reader or the model could see."""

    canaries: Canaries = field(default_factory=Canaries)
    logs: str = ""
    output: str = ""
    model_wire: bytes = b""
    model_bodies: list[dict[str, Any]] = field(default_factory=list)
    pages: dict[str, bytes] = field(default_factory=dict)        # AppTest renders, route pages, browser pages
    urls: list[str] = field(default_factory=list)                # every URL the browser was sent to or requested
    errors: dict[str, str] = field(default_factory=dict)         # the provoked failures' texts, as shown or raised
    files: dict[str, bytes] = field(default_factory=dict)        # .config.json and .appstate/*
    cloud_files: dict[str, bytes] = field(default_factory=dict)  # localcloud's data directory
    page_exceptions: list[str] = field(default_factory=list)
    fingerprints: dict[str, str] = field(default_factory=dict)   # the masked forms of the credentials held last


@dataclass
class Walk:
    """The journey's moving parts."""

    cloud: localcloud.LocalCloud
    runtime: AppRuntime
    trail: Trail
    user: SignedInUser | None = None
    session_id: str = ""
    chat_id: str = ""
    routes: Starlette = field(default_factory=lambda: Starlette(routes=consent_routes(
        consent_user, current_broker, app_url)))  # the app's consent routes, as app.py mounts them

    @property
    def alice(self) -> SignedInUser:
        assert self.user is not None
        return self.user

    def store(self) -> ChatStore:
        return ChatStore.in_directory(app_state_dir(self.runtime.settings))


# -- the journey --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trail]:
    directory = tmp_path_factory.mktemp("hygiene")
    cloud = localcloud.start(port=0, data_dir=directory / "lc")  # its own: every stored secret is this run's
    planted = {"weather API key": canary("apikey"), "DashScope API key": canary("dashscope")}
    recorder = ModelRecorder(cloud.env()["DASHSCOPE_HTTP_BASE_URL"], cloud.dashscope_api_key,
                             planted["DashScope API key"])
    with pytest.MonkeyPatch.context() as env, recorder:
        app_env = local_app_env(cloud, directory, env)
        next(app_env)
        try:
            for name, value in cloud.env().items():  # what `eval "$(python -m localcloud env)"` sets
                env.setenv(name, value)
            env.setenv("DASHSCOPE_HTTP_BASE_URL", recorder.url)
            env.setenv("DASHSCOPE_API_KEY", planted["DashScope API key"])
            env.setenv("WEATHER_API_KEY", planted["weather API key"])  # the API key provider's value, at Provision
            yield _captured_journey(cloud, directory, planted, recorder)
        finally:
            next(app_env, None)  # the fresh-runtime cleanup of local_app_env


def _captured_journey(cloud: localcloud.LocalCloud, directory: Path, planted: dict[str, str],
                      recorder: ModelRecorder) -> Trail:
    logs, output, trail = LogCapture(), OutputCapture(directory / "output.txt"), Trail()
    for name, value in planted.items():  # first: a real secret found later with the same value keeps this name
        trail.canaries.add(name, value)
    with logs.active(), output.active():
        print(STARTED)
        walk = Walk(cloud, get_runtime(), trail)  # the app's start-up is in the capture too
        assert walk.runtime.target.dashscope_base_url == recorder.url  # the model is reached through the recorder
        _journey(walk)
    trail.logs, trail.output = logs.text(), output.text()
    (directory / "logs.txt").write_text(trail.logs)  # beside the run's data, to read when a scan fails
    trail.model_wire, trail.model_bodies = recorder.wire(), recorder.bodies()
    trail.files = {**file_bytes(walk.runtime.settings.config_json), **file_bytes(app_state_dir(walk.runtime.settings))}
    trail.cloud_files = file_bytes(cloud.data_dir)
    _collect_real_secrets(walk)
    return trail


def _journey(walk: Walk) -> None:
    runtime = walk.runtime
    provision.apply(runtime.clients, runtime.settings)
    walk.user = verified_sign_in(walk.cloud, runtime.settings, runtime.target.oauth_discovery_url, "alice")
    walk.session_id = runtime.sessions.create(walk.user, time.time())
    walk.chat_id = walk.store().create_chat(walk.alice.key, "Hygiene").id
    with ThreadPoolExecutor(max_workers=1) as browser:
        _turn(walk, SIX_TOOLS, lambda event: browser.submit(_approve_through_the_app, walk, event))
        _collect_cached(walk.trail, walk.runtime.broker)  # now, while all is cached: the errors make it drop some
        _provoke_errors(walk, browser)
    for name in PAGES:
        _render(walk, name)


def _turn(walk: Walk, text: str, on_consent: Callable[[ConsentNeeded], Future[None]] | None = None,
          **overrides: Any) -> list[Any]:
    """One turn for alice through the app's broker and model, kept in her chat as the Chat page keeps it."""
    store = walk.store()
    try:
        context = TurnContext.of(walk.alice, walk.runtime.broker, walk.runtime.target,
                                 **{"consent_timeout": CONSENT_SECONDS, **overrides})
        events, approvals = run(recorded(store, walk.alice.key, walk.chat_id, run_turn(
            context, store.history(walk.alice.key, walk.chat_id), text)), on_consent)
        for approval in approvals:
            approval.result(timeout=CONSENT_SECONDS)
    finally:
        store.close()
    return events


def _browser(trail: Trail) -> Browser:
    """Alice's browser, noting every URL it requests or is redirected to, and every page it is shown."""
    browser = Browser()

    def seen(response: httpx.Response) -> None:
        response.read()
        trail.urls += [str(response.request.url), response.headers.get("location", "")]
        trail.pages[f"browser {len(trail.pages)}: {response.request.url.path}"] = response.content

    browser.http.event_hooks = {"response": [seen]}
    return browser


def _approve(walk: Walk, authorization_url: str) -> str:
    """Approve at the provider in alice's browser; the app URL it returns to (`/callback?...`)."""
    browser = _browser(walk.trail)
    try:
        return browser.sign_in_and_decide(browser.get(authorization_url), "alice", "demo", "approve",
                                          walk.runtime.settings.consent_return_url)
    finally:
        browser.close()


def _approve_through_the_app(walk: Walk, consent: ConsentNeeded) -> None:
    """Alice presses Authorize (the app's route binds the consent to her browser), approves, and her browser, with
    its cookies, lands on the app's real `/callback`."""
    home = walk.runtime.settings.app_url
    with TestClient(walk.routes, base_url=home, follow_redirects=False) as app:
        app.cookies.set(SESSION_COOKIE, walk.session_id)
        started = app.get(authorize_link("", consent.state))
        assert started.status_code == 303
        landed = _approve(walk, started.headers["location"])
        walk.trail.urls.append(landed)
        page = app.get(landed.removeprefix(home))
    walk.trail.pages[f"/callback for {consent.provider}"] = page.content
    assert page.status_code == 200 and "Connected" in page.text


# -- errors provoked on purpose -----------------------------------------------------------------------------------
def _provoke_errors(walk: Walk, browser: ThreadPoolExecutor) -> None:
    _rotated_api_key(walk)
    _missing_provider(walk)
    _wrong_model_key(walk)
    _refused_client_secret(walk, browser)


def _failures(events: list[Any]) -> str:
    return "\n".join(f"{e.tool}: {e.summary}" for e in events if isinstance(e, ToolFinished) and not e.ok)


def _rotated_api_key(walk: Walk) -> None:
    """The provider's key is rotated while the broker still holds the old one: the weather service refuses it."""
    runtime, rotated = walk.runtime, canary("apikey-rotated")
    walk.trail.canaries.add("rotated weather API key", rotated)
    runtime.clients.control().update_apikey_credential_provider(ai.UpdateAPIKeyCredentialProviderRequest(
        apikey_credential_provider_name=runtime.settings.api_key_provider_name, apikey=rotated))
    walk.trail.errors["tool refused a rotated API key"] = _failures(_turn(walk, "What's the weather in Beijing?"))
    runtime.broker.disconnect(walk.alice, "api_key", runtime.settings.api_key_provider_name)


def _missing_provider(walk: Walk) -> None:
    """A cloud error while the broker holds the user's workload token and STS keys: the provider does not exist."""
    runtime = walk.runtime
    settings = dataclasses.replace(runtime.settings, api_key_provider_name="provider-that-does-not-exist")
    broker = CredentialBroker(runtime.clients, settings)
    outcome = call_tool(weather_search, {"city": "Beijing"}, walk.alice, broker, runtime.target.services)
    walk.trail.errors["tool result for a cloud error"] = outcome.content
    with pytest.raises(CloudError) as raised:
        broker.api_key(walk.alice, settings.api_key_provider_name)
    walk.trail.errors["CloudError raised"] = _exception_texts(raised.value)
    walk.trail.errors["activity log after the cloud error"] = json.dumps(
        [dataclasses.asdict(entry) for entry in broker.log.of(walk.alice.key)])
    _collect_cached(walk.trail, broker)  # its own workload token and STS keys, held while the call failed


def _exception_texts(error: BaseException) -> str:
    return "\n".join([str(error), repr(error), *traceback.format_exception(error)])


def _wrong_model_key(walk: Walk) -> None:
    """DashScope refuses the key: the turn's error and the raised ModelError name the code, never the key."""
    wrong = canary("dashscope-wrong")
    walk.trail.canaries.add("wrong DashScope API key", wrong)
    model = dataclasses.replace(ModelConfig.of(walk.runtime.settings, walk.runtime.target), api_key=wrong)
    events = _turn(walk, "What's the weather in Beijing?", model=model)
    walk.trail.errors["turn error for a wrong model key"] = "\n".join(
        f"{e.code}: {e.message}" for e in events if isinstance(e, TurnFailed))
    with pytest.raises(ModelError) as raised:
        list(stream_reply(model, [{"role": "user", "content": "hello"}]))
    walk.trail.errors["ModelError raised"] = _exception_texts(raised.value)


def _refused_client_secret(walk: Walk, browser: ThreadPoolExecutor) -> None:
    """The DingTalk provider holds a client secret the provider refuses: a fresh consent fails at the token
    exchange, alice's browser is shown the failure, and the turn gives up after its bound."""
    runtime, settings = walk.runtime, walk.runtime.settings
    name, wrong = settings.dingtalk_oauth_provider_name, canary("dingtalk-client-secret")
    walk.trail.canaries.add("refused DingTalk client secret", wrong)
    _set_dingtalk_secret(walk, wrong)
    runtime.broker.disconnect(walk.alice, "oauth2", name, DINGTALK_SCOPES)  # the next use asks for consent anew
    try:
        events = _turn(walk, "Write 'hygiene notes' to my DingTalk document",
                       lambda event: browser.submit(_approve_refused, walk, event),
                       consent_timeout=REFUSED_CONSENT_SECONDS)
    finally:
        _set_dingtalk_secret(walk, runtime.target.dingtalk_client_secret or "")
    walk.trail.errors["turn after a refused client secret"] = "\n".join(
        [_failures(events), *(e.message["content"] for e in events if getattr(e, "message", {}).get("role"))])


def _approve_refused(walk: Walk, consent: ConsentNeeded) -> None:
    with pytest.raises(BrowserError, match="did not come back"):  # the provider's failure page instead
        _approve(walk, consent.authorization_url)


def _set_dingtalk_secret(walk: Walk, secret: str) -> None:
    target, settings = walk.runtime.target, walk.runtime.settings
    config = ai.OAuth2ProviderConfig(included_oauth2_provider_config=ai.IncludedOAuth2ProviderConfig(
        client_id=target.dingtalk_client_id, client_secret=secret))
    walk.runtime.clients.control().update_oauth2_credential_provider(ai.UpdateOAuth2CredentialProviderRequest(
        oauth2_credential_provider_name=settings.dingtalk_oauth_provider_name, oauth2_provider_config=config))


# -- the pages ----------------------------------------------------------------------------------------------------
def _render(walk: Walk, name: str) -> None:
    """The page as alice's browser session gets it (Chat: a new question first, then a reload)."""
    at = AppTest.from_file(PAGES[name], default_timeout=90)
    at.session_state[AUTH_KEY] = AuthState(session_id=walk.session_id)
    at.run()
    if name == "chat":
        at.chat_input(key="chat_input").set_value(PAGE_PROMPT).run()
        walk.trail.pages["chat page, answering"] = _rendered(at)
        at.run()  # a reload draws the stored chat
    walk.trail.pages[f"{name} page"] = _rendered(at)
    walk.trail.page_exceptions += [str(e.value) for e in at.exception]


# -- every real secret of the run becomes a canary too ----------------------------------------------------------
def _collect_real_secrets(walk: Walk) -> None:
    canaries, runtime, cloud = walk.trail.canaries, walk.runtime, walk.cloud
    canaries.add("ID token", walk.alice.id_token)
    canaries.add("ID token signature", walk.alice.id_token.rsplit(".", 1)[-1])
    canaries.add("login session id", walk.session_id)
    canaries.add("localcloud root AccessKeySecret", cloud.access_key_secret)
    canaries.add("localcloud control token", cloud.control_token)
    canaries.add("localcloud's own DashScope key", cloud.dashscope_api_key)
    canaries.add("DingTalk client secret", runtime.target.dingtalk_client_secret)
    walk.trail.fingerprints = _collect_cached(walk.trail, runtime.broker)  # what the pages showed last
    canaries.add_all("secret in localcloud's state", stored_secrets(cloud.data_dir))


def _collect_cached(trail: Trail, broker: CredentialBroker) -> dict[str, str]:
    """Every credential the broker holds now: each secret part becomes a canary; their fingerprints, by kind."""
    fingerprints = {}
    for key, credential in dict(broker.cache._entries).items():  # all of it, whatever the kind
        label = f"{key.kind} {key.provider}".strip()
        for part in ("value", "access_key_secret", "security_token"):
            trail.canaries.add(f"cached {label} {part}", getattr(credential, part, ""))
        fingerprints[label] = credential.fingerprint
    return fingerprints


# -- the scans ----------------------------------------------------------------------------------------------------
def _leaks(canaries: Canaries, places: dict[str, str | bytes]) -> dict[str, list[str]]:
    """Canary names by place, for the places that hold any."""
    return {place: found for place, text in places.items() if (found := canaries.found_in(text))}


def test_the_journey_planted_and_collected_every_kind_of_secret(trail):
    names = set(trail.canaries.values)
    assert {"weather API key", "rotated weather API key", "DashScope API key", "wrong DashScope API key",
            "refused DingTalk client secret", "DingTalk client secret", "ID token", "login session id",
            "localcloud root AccessKeySecret", "localcloud control token"} <= names
    for kind in ("cached workload value", "cached sts access_key_secret", "cached sts security_token",
                 "cached oauth2 test-provider-for-mcp-oauth value", "cached oauth2 test-provider-for-dingtalk value",
                 "secret in localcloud's state"):
        assert any(name.startswith(kind) for name in names), f"no canary for {kind}"
    assert trail.page_exceptions == []


def test_no_canary_in_any_log_record(trail):
    assert " DEBUG " in trail.logs and "HTTP Request: GET" in trail.logs  # the capture saw DEBUG and httpx's INFO
    assert trail.canaries.found_in(trail.logs) == [], _lines_with(trail.canaries, trail.logs)


def _lines_with(canaries: Canaries, text: str) -> list[str]:
    """The logger and level of each line holding a canary (never the line: it holds the secret)."""
    return [" ".join(line.split()[:2]) + f" … {canaries.found_in(line)}" for line in text.splitlines()
            if canaries.found_in(line)][:20]


def test_no_canary_on_stdout_or_stderr(trail):
    assert STARTED in trail.output  # the capture was on
    assert trail.canaries.found_in(trail.output) == []


def test_the_model_is_sent_no_canary(trail):
    sent = json.dumps(trail.model_bodies)
    assert "30 degrees and sunny" in sent and "Opening meeting" in sent  # tool results did reach the model
    assert trail.canaries.found_in(trail.model_wire) == []


def test_the_chat_store_keeps_fingerprints_never_values(trail):
    chats = {path: data for path, data in trail.files.items() if "app.sqlite3" in path}
    assert _leaks(trail.canaries, chats) == {}
    assert any(trail.fingerprints["api_key test-provider-api-key"].encode() in data for data in chats.values())


def test_no_canary_in_rendered_pages_route_pages_or_browser_pages(trail):
    assert _leaks(trail.canaries, trail.pages) == {}
    credentials = trail.pages["credentials page"]
    assert all(fingerprint.encode() in credentials for fingerprint in trail.fingerprints.values())
    assert b"30 degrees and sunny" in trail.pages["chat page"]  # the tool card and answer are in the render


def test_no_canary_in_any_url(trail):
    assert any("/callback?" in url and "session_uri=" in url for url in trail.urls)
    assert _leaks(trail.canaries, {url: url for url in trail.urls}) == {}


def test_config_json_and_app_state_files_hold_no_canary(trail):
    """`.config.json` names what Provision made, the inbound app's client id included: a public client's id is
    not a secret (it is in every authorize URL), so it is no canary. The login sessions and consents are sealed,
    the chats and the activity log keep fingerprints: no value of any canary may be in these files."""
    config = next(data for path, data in trail.files.items() if path.endswith(".config.json"))
    assert b"workload_identity_name" in config and b"inbound_app_id" in config
    assert any(path.endswith("app.sqlite3") for path in trail.files)  # sessions, chats, consents, activity
    assert _leaks(trail.canaries, trail.files) == {}


def test_provoked_errors_say_what_failed_without_a_canary(trail):
    expected = {"tool refused a rotated API key": "InvalidAppCode", "tool result for a cloud error": "EntityNotExist",
                "CloudError raised": "EntityNotExist", "turn error for a wrong model key": "InvalidApiKey",
                "ModelError raised": "Invalid API-key", "turn after a refused client secret": "did not arrive in time",
                "activity log after the cloud error": "EntityNotExist"}
    for name, code in expected.items():
        assert code in trail.errors[name], f"{name}: {trail.errors[name][:300]}"
    browser_pages = [page for name, page in trail.pages.items() if name.startswith("browser")]
    assert any(b"Consent failed" in page and b"invalid_client" in page for page in browser_pages)
    assert _leaks(trail.canaries, dict(trail.errors)) == {}


def test_localcloud_keeps_the_clouds_secrets_but_none_of_the_apps(trail):
    """localcloud is the cloud: it holds the API keys, client secrets, vaulted tokens and STS keys by design (they
    are in `stored_secrets`). What only the app holds must never reach its state: the login session, the ID token
    (sent to be verified, never kept) and the app's DashScope key."""
    app_only = Canaries({name: value for name, value in trail.canaries.values.items()
                         if name in ("login session id", "ID token", "ID token signature", "DashScope API key")})
    assert len(app_only.values) == 4
    assert _leaks(app_only, trail.cloud_files) == {}
