"""The Inspect page, run by AppTest against a real, provisioned localcloud, after real chat turns."""

from __future__ import annotations

import json
import time

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from identity.broker.cache import CacheKey
from lab import attacks as lab
from tests.app.test_chat_page import PAGE as CHAT_PAGE
from tests.app.test_credentials_page import _rendered, sign_in
from tests.conftest import repo_root
from tests.support import open_page
from ui import chat_view
from ui.credentials_view import markdown_text
from ui.runtime import AppRuntime, get_runtime, reset_runtime

PAGE = str(repo_root() / "pages" / "inspect.py")
_TEXT_KINDS = ("markdown", "caption", "info", "success", "warning", "error", "title")


@pytest.fixture
def runtime(chat_runtime: AppRuntime) -> AppRuntime:
    """Inspect shows the Chat page's real turns: the same provisioned runtime with an empty chat store."""
    return chat_runtime


def _open(session_id: str | None = None, page: str = PAGE) -> AppTest:
    return open_page(page, session_id, 90)


def _texts(at: AppTest) -> str:
    return "\n".join(str(element.value) for kind in _TEXT_KINDS for element in getattr(at, kind))


def _chat(session: str, *examples: int) -> None:
    """Real turns on the Chat page: the example prompts, answered by localcloud's model with real tool calls."""
    at = _open(session, CHAT_PAGE)
    for index in examples:
        at.button(key=chat_view.example_key(index)).click().run()
        assert not at.exception


def _graph(at: AppTest) -> str:
    [chart] = at.get("graphviz_chart")
    return chart.proto.spec


def _secrets(runtime: AppRuntime, user_key: tuple[str, str]) -> list[bytes]:
    """Every credential value the broker holds for the user (none may be on the page)."""
    workload = runtime.broker.workload()
    found = [runtime.broker.cache.peek(CacheKey(user_key, workload, kind, provider)) for kind, provider in
             (("workload", ""), ("sts", ""), ("api_key", runtime.settings.api_key_provider_name))]
    values = []
    for credential in filter(None, found):
        values += [getattr(credential, name) for name in ("value", "access_key_secret", "security_token")
                   if getattr(credential, name, "")]
    return [value.encode() for value in values]


def test_a_signed_out_visitor_sees_the_sign_in_prompt(runtime):
    at = _open()
    assert "Please sign in to use this page." in _texts(at)
    assert [title.value for title in at.title] == ["Inspect"]
    assert not at.get("graphviz_chart") and not at.button


def test_after_a_chat_turn_the_page_lists_it_and_draws_its_tool_calls_flow(runtime):
    alice, session = sign_in(runtime, "alice")
    _chat(session, 0)
    at = _open(session)
    [chat] = at.selectbox(key="inspect_chat").options
    assert chat == "What's the weather in Beijing?"
    turn = next(box for box in at.selectbox if box.label == "Turn")
    assert turn.options == ["“What's the weather in Beijing?” · 1 tool call"]
    call = next(box for box in at.selectbox if box.label == "Tool call")
    assert call.options == ["weather_search · API key from test-provider-api-key · ok"]
    graph = _graph(at)
    key = runtime.broker.cache.peek(CacheKey(alice.key, runtime.broker.workload(), "api_key",
                                             runtime.settings.api_key_provider_name))
    assert "GetResourceAPIKey\\ntest-provider-api-key" in graph and "weather_search" in graph
    assert key.fingerprint in graph and "Alice Chen" in graph
    assert all(secret not in _rendered(at) for secret in _secrets(runtime, alice.key))
    assert alice.id_token.encode() not in _rendered(at)



def test_a_denied_order_call_is_drawn_through_the_gateway_to_its_decision(runtime):
    bob, session = sign_in(runtime, "bob")
    chat = _open(session, CHAT_PAGE)
    chat.chat_input(key="chat_input").set_value("delete order 12345678").run(timeout=60)
    assert not chat.exception
    at = _open(session)
    call = next(box for box in at.selectbox if box.label == "Tool call")
    assert call.options == ["deleteOrder · OAuth2 from mcp-order-oauth2 via the AI Gateway · denied by policy"]
    graph = _graph(at)
    assert "AI Gateway\\ntest-order-agent-identity" in graph and "tools/call deleteOrder" in graph
    assert "Cedar decision\\nno policy permits it\\nDENY · ENFORCE" in graph and "403 AccessDenied" in graph
    assert "injected token" not in graph  # denied: the gateway fetched no token and called nothing
    assert runtime.broker.workload_token(bob).fingerprint in graph
    assert all(secret not in _rendered(at) for secret in _secrets(runtime, bob.key))


def test_the_lifetimes_tab_charts_every_credential_with_now_marked(runtime):
    alice, session = sign_in(runtime, "alice")
    _chat(session, 0, 1)
    at = _open(session)
    [chart] = at.get("vega_lite_chart")
    marks = [layer["mark"]["type"] for layer in json.loads(chart.proto.spec)["layer"]]
    assert marks == ["bar", "rule", "text"]  # the bars, and now as a line with its label
    table = next(df.value for df in at.dataframe if "Fingerprint" in df.value.columns)
    assert {"ID token", "Workload access token", "STS credentials",
            "API key (cache entry) · test-provider-api-key"} <= set(table["Credential"])
    assert set(table["Status"]) == {"live"}
    assert markdown_text("First to expire: API key (cache entry) · test-provider-api-key, in ") in _texts(at)
    assert all(secret not in _rendered(at) for secret in _secrets(runtime, alice.key))


@pytest.mark.parametrize("scenario", [s.key for s in lab.SCENARIOS])
def test_each_attack_lab_scenario_is_blocked_and_leaves_the_user_as_they_were(runtime, scenario):
    alice, session = sign_in(runtime, "alice")
    activity, consents = runtime.broker.log.of(alice.key), runtime.broker.consents.of(alice.key)
    at = _open(session)
    at.button(key=f"inspect_attack_{scenario}").click().run()
    assert not at.exception
    badges = [m.value for m in at.markdown if "badge[" in m.value]
    assert len(badges) == 1 and "blocked · pass" in badges[0], _texts(at)
    assert "**Actual:**" in _texts(at)
    assert runtime.broker.log.of(alice.key) == activity and runtime.broker.consents.of(alice.key) == consents
    assert runtime.sessions.user(session, time.time()) == alice  # still signed in, as the same user
    assert alice.id_token.encode() not in _rendered(at)


def test_run_all_shows_every_scenario_blocked(runtime):
    _, session = sign_in(runtime, "alice")
    at = _open(session)
    at.button(key="inspect_attack_all").click().run()
    assert not at.exception
    assert sum("blocked · pass" in m.value for m in at.markdown) == len(lab.SCENARIOS)


def test_in_cloud_mode_the_attack_lab_is_disabled_with_a_note(runtime, monkeypatch):
    alice, _ = sign_in(runtime, "alice")
    monkeypatch.setenv("AGENT_IDENTITY_MODE", "cloud")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI-not-used")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "not-used")
    st.cache_resource.clear()
    reset_runtime()
    cloud = get_runtime()
    assert not cloud.settings.is_local
    at = _open(cloud.sessions.create(alice, time.time()))
    assert lab.CLOUD_NOTE in [info.value for info in at.info]
    runs = [button for button in at.button if button.key.startswith("inspect_attack_")]
    assert len(runs) == len(lab.SCENARIOS) and all(button.disabled for button in runs)
