"""The Chat page with AGENT_ENDPOINT: the turn runs in the agent service (over `/process`, with the signed-in user's
ID token), and the page draws it as it draws an in-process turn; a service that is down is a message, not a hang."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from agent.runtime import build_agent_runtime
from agent.service.app import create_app
from tests.app.test_chat_page import _ask_example, _open, _texts
from tests.app.test_credentials_page import sign_in
from tests.support import free_port, give_consent, served
from ui.runtime import AppRuntime, get_runtime, reset_runtime


def _with_endpoint(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> AppRuntime:
    monkeypatch.setenv("AGENT_ENDPOINT", endpoint)
    reset_runtime()  # the page's runtime reads the setting again (same database, same localcloud)
    return get_runtime()


@pytest.fixture
def service_app(chat_runtime: AppRuntime) -> Iterator[tuple[str, Any]]:
    """The agent service in this process (its own runtime and broker, on the page's database and localcloud)."""
    app = create_app(lambda: build_agent_runtime(os.environ))
    with served(app) as port:
        assert app.state.service.runtime is not None, app.state.service.failure
        yield f"http://127.0.0.1:{port}/process", app.state.service.runtime


@pytest.fixture
def service_endpoint(service_app: tuple[str, Any]) -> str:
    return service_app[0]


def test_the_page_draws_a_turn_run_by_the_service_and_keeps_it(service_endpoint, monkeypatch):
    runtime = _with_endpoint(monkeypatch, service_endpoint)
    _, session = sign_in(runtime, "alice")
    at = _ask_example(_open(session), 0)

    user, assistant = at.chat_message
    assert (user.name, user.markdown[0].value) == ("user", "What's the weather in Beijing?")
    assert "30 degrees and sunny" in assistant.markdown[-1].value
    [card] = at.get("status") or assistant.get("expandable")
    assert card.label.startswith("weather_search · API key from test-provider-api-key · ok")

    at.run()  # a reload draws what the service stored in the shared chat store
    assert [m.name for m in at.chat_message] == ["user", "assistant"]
    assert at.get("status")[0].label.startswith("weather_search · API key")


def test_a_service_that_is_down_is_a_message_on_the_page(chat_runtime, monkeypatch):
    runtime = _with_endpoint(monkeypatch, f"http://127.0.0.1:{free_port()}/process")
    _, session = sign_in(runtime, "alice")
    at = _ask_example(_open(session), 0)

    shown = _texts(at).replace("\\", "")  # the message is drawn as escaped Markdown
    assert not at.exception
    assert "did not answer" in shown and "python -m agent.service" in shown


def test_a_consent_card_from_the_service_resumes_when_the_app_completes_the_consent(service_app, monkeypatch):
    endpoint, service_runtime = service_app
    runtime = _with_endpoint(monkeypatch, endpoint)
    alice, session = sign_in(runtime, "alice")
    approvals: list[threading.Thread] = []
    real_wait = service_runtime.broker.wait_for_consent

    def approve(state: str) -> None:  # the user's browser, at the dashboard: Authorize, approve, /callback
        give_consent(runtime.broker, alice, state, "alice", runtime.settings.consent_return_url)

    def waiting(user: Any, state: str, timeout: float) -> Any:  # in the service: the card is on screen now
        if not approvals:
            approvals.append(threading.Thread(target=approve, args=(state,)))
            approvals[0].start()
        return real_wait(user, state, timeout)

    monkeypatch.setattr(service_runtime.broker, "wait_for_consent", waiting)
    at = _ask_example(_open(session), 2)
    approvals[0].join(timeout=30)

    assert runtime.broker is not service_runtime.broker  # two brokers: the consent crossed through the database
    assert any("connected: the tool call goes on by itself" in s.value for s in at.success)
    [card] = at.get("status")
    assert card.label.startswith("get_current_time · OAuth2 from test-provider-for-mcp-oauth · ok")
    assert "Asia/Shanghai" in at.chat_message[1].markdown[-1].value
