"""The restart story of issue 16: what decides who may do what is in the database, so a restart changes no answer.

Alice consents to DingTalk, presses Disconnect, the app restarts (a new runtime from the same settings, as a new
server process builds), and she asks again: the answer is a consent card, never the vault's old token. A consent
that was pending before the restart still completes after it, and the activity log is still there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st

import localcloud
from identity.broker import ConsentRequired, CredentialBroker
from identity.broker.cache import CacheKey
from identity.store import ChangeFeed, open_app_database
from tests.app.test_credentials_page import sign_in as app_sign_in
from tests.security.fault_support import provisioned_app
from tests.support import give_consent
from tools.documents import DINGTALK_SCOPES
from tools.services import MCP_SCOPES
from ui.runtime import AppRuntime, get_runtime, reset_runtime


@pytest.fixture
def provisioned(fresh_cloud: localcloud.LocalCloud, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[AppRuntime]:
    yield from provisioned_app(fresh_cloud, tmp_path, monkeypatch)


def _restarted() -> AppRuntime:
    st.cache_resource.clear()
    reset_runtime()  # the old process's runtime is gone: its memory, its cache, its database connections
    return get_runtime()


def _consent_needed(runtime: AppRuntime, user: object, provider: str, scopes: tuple[str, ...]) -> str:
    with pytest.raises(ConsentRequired) as needed:
        runtime.broker.oauth2_token(user, provider, scopes)  # type: ignore[arg-type]
    return needed.value.consent.state


def test_a_disconnect_still_asks_for_consent_after_a_restart(provisioned):
    before = provisioned
    alice, _ = app_sign_in(before, "alice")
    dingtalk = before.settings.dingtalk_oauth_provider_name
    state = _consent_needed(before, alice, dingtalk, DINGTALK_SCOPES)
    give_consent(before.broker, alice, state, "alice", before.settings.consent_return_url)
    assert before.broker.oauth2_token(alice, dingtalk, DINGTALK_SCOPES).value  # consented: the vault holds it
    before.broker.disconnect(alice, "oauth2", dingtalk, DINGTALK_SCOPES)

    after = _restarted()

    assert after is not before
    _consent_needed(after, alice, dingtalk, DINGTALK_SCOPES)  # a consent card, not a silent token
    logged = {(entry.action, entry.outcome) for entry in after.broker.log.of(alice.key)}
    assert {("CompleteResourceTokenAuth", "ok"), ("disconnect", "ok")} <= logged


def test_a_consent_pending_before_a_restart_completes_after_it(provisioned):
    before = provisioned
    alice, _ = app_sign_in(before, "alice")
    mcp = before.settings.mcp_oauth_provider_name
    state = _consent_needed(before, alice, mcp, MCP_SCOPES)

    after = _restarted()

    assert after.broker.consents.get(state).status == "pending"
    give_consent(after.broker, alice, state, "alice", after.settings.consent_return_url)
    assert after.broker.consents.get(state).status == "completed"
    assert after.broker.oauth2_token(alice, mcp, MCP_SCOPES).value


def _second_replica(runtime: AppRuntime) -> CredentialBroker:
    """Another process's broker on the same database and cloud: its own engine, cache and origin in the feed."""
    database = open_app_database(runtime.settings)
    return CredentialBroker(runtime.clients, runtime.settings, database=database, feed=ChangeFeed(database))


@pytest.mark.parametrize("probe", [False, True], ids=["tool call", "connection probe"])
def test_a_disconnect_on_another_replica_during_a_vault_fetch_still_holds(provisioned, monkeypatch, probe):
    """Replica B disconnects while replica A's request for the vaulted token is on its way: A does not use (or
    cache) the token that comes back, and B's mark is not undone by it."""
    alice, _ = app_sign_in(provisioned, "alice")
    a, b = provisioned.broker, _second_replica(provisioned)
    dingtalk = provisioned.settings.dingtalk_oauth_provider_name
    give_consent(a, alice, _consent_needed(provisioned, alice, dingtalk, DINGTALK_SCOPES), "alice",
                 provisioned.settings.consent_return_url)
    a.cache.clear()  # A has nothing cached: the next use asks the vault
    real_call = a._call

    def disconnected_meanwhile(user, action, provider, call):
        result = real_call(user, action, provider, call)
        if action == "GetResourceOAuth2Token" and not b.marks.of(alice.key):
            b.disconnect(alice, "oauth2", dingtalk, DINGTALK_SCOPES)  # lands while A's answer is on its way
        return result

    monkeypatch.setattr(a, "_call", disconnected_meanwhile)
    try:
        if probe:
            assert a.held_oauth2_token(alice, dingtalk, DINGTALK_SCOPES) is None
        else:
            with pytest.raises(ConsentRequired):
                a.oauth2_token(alice, dingtalk, DINGTALK_SCOPES)
        assert [key.provider for key in a.marks.of(alice.key)] == [dingtalk]  # B's Disconnect holds
        assert a.cache.peek(CacheKey(alice.key, a.workload(), "oauth2", dingtalk, DINGTALK_SCOPES)) is None
    finally:
        b.database.close()
