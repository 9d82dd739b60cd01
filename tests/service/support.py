"""The agent service under test: in this process (uvicorn in a thread, so its threads can be inspected) or as its
own `python -m agent.service` process; callers' ID tokens, genuine and doctored; its server-sent events, read with
a bound on every wait.

The dashboard's side (the "app": its runtime, broker and `/callback` logic) is always this test process, on the
same localcloud and the same database (`.appstate/` beside LOCALCLOUD_DATA_DIR) as the service.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette

import localcloud
from agent.runtime import AgentRuntime, build_agent_runtime
from agent.service.app import create_app
from bench.environment import stop_process
from identity.cloud import PROXY_VARIABLES
from identity.users import SignedInUser
from localcloud.jose import sign_jwt
from localcloud.oidc.realm import realm_key
from localcloud.store import open_store
from tests.conftest import repo_root
from tests.security.fault_support import provisioned_app
from tests.support import free_port, give_consent, scripted_id_token, served, user_of
from ui.runtime import AppRuntime

SERVICE_BEARER = "sample-backend-shared-token-0123456789"  # AGENT_BEARER_TOKEN: the sample backend's shared token
WEATHER = "What's the weather in Beijing?"                   # weather_search: an API key, no consent
DINGTALK = "Write 'Agent Identity demo notes' to my DingTalk document"  # write_dingtalk_document: OAuth2 consent
TIMEOUT = httpx.Timeout(60.0)  # no single read waits longer; a consent wait sends nothing for seconds at a time
_PROXIES = PROXY_VARIABLES


@dataclass
class Service:
    """A running agent service and the dashboard's runtime beside it."""

    url: str
    cloud: localcloud.LocalCloud
    app_runtime: AppRuntime             # the dashboard's side, in this process
    app: Starlette | None = None        # in-process only
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def runtime(self) -> AgentRuntime:
        """The service's own runtime (in-process only)."""
        assert self.app is not None and self.app.state.service.runtime is not None
        return self.app.state.service.runtime

    def id_token(self, username: str) -> str:
        """A real ID token from localcloud's sign-in pages (one per user and test)."""
        if username not in self._tokens:
            self._tokens[username] = scripted_id_token(self.cloud, self.app_runtime.settings, username)
        return self._tokens[username]

    def user(self, username: str) -> SignedInUser:
        return user_of(self.id_token(username), username)

    def bearer(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.id_token(username)}"}

    def give_consent(self, username: str, state: str, decision: str = "approve") -> dict[str, str]:
        """The owner's browser at the app: Authorize, approve (or deny) at the provider, the app's `/callback`."""
        return give_consent(self.app_runtime.broker, self.user(username), state, username,
                            self.app_runtime.settings.consent_return_url, decision)

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=TIMEOUT, trust_env=False)


@contextmanager
def provisioned(cloud: localcloud.LocalCloud, directory: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppRuntime]:
    """The app's environment on `cloud` (local_app_env, with the sample backend's shared token), provisioned."""
    monkeypatch.setenv("AGENT_BEARER_TOKEN", SERVICE_BEARER)
    with contextmanager(provisioned_app)(cloud, directory, monkeypatch) as app_runtime:
        yield app_runtime


@contextmanager
def service_in_process(cloud: localcloud.LocalCloud, directory: Path, monkeypatch: pytest.MonkeyPatch,
                       build: Callable[[], AgentRuntime] | None = None) -> Iterator[Service]:
    """`create_app(build_agent_runtime(os.environ))` served by uvicorn in a thread, after provisioning."""
    with provisioned(cloud, directory, monkeypatch) as app_runtime:
        app = create_app(build or (lambda: build_agent_runtime(os.environ)))
        with served(app) as port:
            state = app.state.service
            assert state.runtime is not None, f"the service did not start: {state.failure}"
            yield Service(f"http://127.0.0.1:{port}", cloud, app_runtime, app)


@contextmanager
def service_process(cloud: localcloud.LocalCloud, directory: Path, app_runtime: AppRuntime,
                    start_seconds: float = 60.0) -> Iterator[Service]:
    """`python -m agent.service` as its own process, in this test's app environment (os.environ, as local_app_env
    left it) but on the session's running localcloud: its port given, so the child reuses it (localcloud's `_reuse`)
    and the database beside its data directory."""
    port = free_port()
    env = {name: value for name, value in os.environ.items() if name not in _PROXIES}
    env.update({"LOCALCLOUD_PORT": str(cloud.port), "LOCALCLOUD_DATA_DIR": str(cloud.data_dir),
                "AGENT_SERVICE_HOST": "127.0.0.1", "AGENT_SERVICE_PORT": str(port),
                "PYTHONPATH": os.pathsep.join(filter(None, [str(repo_root()), env.get("PYTHONPATH")]))})
    log = directory / "agent-service.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "agent.service"], cwd=directory, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_seconds
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"python -m agent.service did not become healthy on {url} "
                                     f"(exit {process.poll()}): {log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield Service(url, cloud, app_runtime)
    finally:
        stop_process(process, grace=15)


def _healthy(url: str) -> bool:
    try:
        response = httpx.get(f"{url}/health", timeout=2.0, trust_env=False)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and response.json().get("status") == "healthy"


# -- requests ----------------------------------------------------------------------------------------------------
def process_body(text: str, session_id: str | None = None, user_id: str | None = None,
                 stream: bool = True) -> dict[str, Any]:
    """The sample backend's `/process` request (AgentScope mode), field for field."""
    body: dict[str, Any] = {"input": [{"role": "user", "type": "message",
                                       "content": [{"type": "text", "text": text}]}],
                            "session_id": session_id, "stream": stream}
    if user_id is not None:
        body["user_id"] = user_id
    return body


def sse_events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """The JSON of each `data:` line of a server-sent event stream, as it arrives."""
    assert response.status_code == 200, response.read()
    assert response.headers["content-type"].startswith("text/event-stream")
    for line in response.iter_lines():
        if line.startswith("data: "):
            yield json.loads(line[len("data: "):])
        else:
            assert line == "", f"not a server-sent event line: {line!r}"


def consent_of(event: dict[str, Any]) -> dict[str, Any] | None:
    """The structured consent a completed message carries (its first content's data), or None."""
    if event.get("object") != "message" or event.get("status") != "completed":
        return None
    content = event.get("content") or []
    data = content[0].get("data") if content and content[0].get("type") == "data" else None
    return data if isinstance(data, dict) and data.get("kind") == "consent_required" else None


def streamed_text(events: list[dict[str, Any]]) -> str:
    """The answer's text as a text-only frontend shows it: every text delta."""
    return "".join(e["text"] for e in events if e.get("object") == "content" and e.get("type") == "text"
                   and e.get("delta"))


def state_of_link(link: str) -> str:
    """The consent's state from the app's Authorize link."""
    return parse_qs(urlsplit(link).query)["state"][0]


def process_turn(service: Service, body: dict[str, Any], headers: dict[str, str],
                 on_consent: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Every event of one streamed `/process` turn; `on_consent(data)` runs (while the turn waits) for each
    consent event."""
    events = []
    with service.http() as http, http.stream("POST", "/process", json=body, headers=headers) as response:
        for event in sse_events(response):
            events.append(event)
            if (consent := consent_of(event)) is not None and on_consent is not None:
                on_consent(consent)
    return events


# -- ID tokens, doctored -------------------------------------------------------------------------------------------
def claims_of(id_token: str) -> dict[str, Any]:
    return jwt.decode(id_token, options={"verify_signature": False})


def signed_by_localcloud(cloud: localcloud.LocalCloud, claims: dict[str, Any]) -> str:
    """Claims signed with localcloud's own sign-in key (the one its JWKS publishes): genuine but for the claims."""
    store = open_store(cloud.data_dir, time.time)
    try:
        return sign_jwt(realm_key(store, "aliyun"), claims)
    finally:
        store.close()


def forged(id_token: str) -> str:
    """The same header (`kid`) and claims, signed with a key nobody published."""
    kid = jwt.get_unverified_header(id_token)["kid"]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims_of(id_token), key, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})
