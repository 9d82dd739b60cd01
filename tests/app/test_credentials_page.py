"""The Credentials page, run by AppTest on its own against a real, provisioned localcloud, for a real sign-in."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import localcloud
from identity import provision
from identity.broker import CredentialNeed, PendingConsent
from identity.broker.cache import CacheKey
from identity.broker.routes import authorize_link
from identity.users import SignedInUser
from lab.browser import query_of
from tests.conftest import repo_root
from tests.support import give_consent, local_app_env, open_page, verified_sign_in
from tools import credential_needs
from ui import credentials_view as view
from ui.runtime import AppRuntime, get_runtime, reset_runtime

PAGE = str(repo_root() / "pages" / "credentials.py")
_TEXT_KINDS = ("markdown", "caption", "info", "success", "warning", "error", "title", "subheader")


@pytest.fixture
def runtime(fresh_cloud: localcloud.LocalCloud, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[AppRuntime]:
    """The page's own runtime: local mode on the session's (reset) localcloud, with a private `.config.json`."""
    for _ in local_app_env(fresh_cloud, tmp_path, monkeypatch):
        yield get_runtime()


@pytest.fixture
def provisioned(runtime: AppRuntime) -> AppRuntime:
    provision.apply(runtime.clients, runtime.settings)
    return runtime


def sign_in(runtime: AppRuntime, username: str) -> tuple[SignedInUser, str]:
    """A verified user (the sign-in module's own verification) and their server-side login session."""
    user = verified_sign_in(runtime.target.local, runtime.settings, runtime.target.oauth_discovery_url, username)
    return user, runtime.sessions.create(user, time.time())


def _open(session_id: str | None = None) -> AppTest:
    return open_page(PAGE, session_id, 60)


def _press(at: AppTest, action: str, need: CredentialNeed) -> AppTest:
    at.button(key=view.action_key(action, need)).click().run()
    assert not at.exception
    return at


def _need(runtime: AppRuntime, kind: str, provider: str | None = None) -> CredentialNeed:
    return next(n for n in credential_needs(runtime.settings) if n.kind == kind and provider in (None, n.provider))


def _table(at: AppTest) -> pd.DataFrame:
    """The outbound credentials table (found by its columns among the page's tables)."""
    return next(df.value for df in at.dataframe if list(df.value.columns) == list(view.COLUMNS))


def _statuses(at: AppTest) -> dict[str, str]:
    """Provider → status word."""
    return {row.Provider: row.Status.split(" ", 1)[1] for row in _table(at).itertuples()}


def _texts(at: AppTest) -> str:
    return "\n".join(str(element.value) for kind in _TEXT_KINDS for element in getattr(at, kind))


def _links(at: AppTest) -> str:
    """Page links' labels, and Markdown (a page run without the app's navigation links in Markdown)."""
    return "\n".join([link.value for link in at.get("page_link")] + [m.value for m in at.markdown])


def _rendered(at: AppTest) -> bytes:
    """Every element the page sent, as bytes (tables included), to search for things that must not be there."""
    def walk(node: object) -> Iterator[object]:
        yield node
        for child in getattr(node, "children", {}).values():
            yield from walk(child)
    return b"\n".join(node.proto.SerializeToString() for node in walk(at._tree)
                      if getattr(node, "proto", None) is not None)


def test_a_signed_out_visitor_sees_the_sign_in_prompt(provisioned):
    at = _open()
    assert "Please sign in to use this page." in _texts(at)
    assert "Go to Login" in _links(at)
    assert [title.value for title in at.title] == ["Credentials"]
    assert not at.dataframe and not at.button and not at.subheader


def test_the_page_lists_every_credential_as_not_connected(provisioned):
    alice, session = sign_in(provisioned, "alice")
    at = _open(session)
    table = _table(at)
    assert sorted(table["Kind"]) == ["API key", "OAuth2", "OAuth2", "STS"]
    assert set(_statuses(at).values()) == {view.NOT_CONNECTED}
    assert set(table["Preview"]) == {view.NO_VALUE}
    assert "Alice Chen" in _texts(at) and "no access token yet" in _texts(at)
    claims = at.dataframe[0].value
    assert {"iss", "sub", "aud", "exp"} <= set(claims["Claim"])
    assert dict(zip(claims["Claim"], claims["Value"], strict=True))["sub"] == alice.subject
    assert alice.id_token.encode() not in _rendered(at) and alice.id_token.split(".")[2].encode() not in _rendered(at)
    assert provisioned.broker.log.of(alice.key) == []  # drawing the page called no identity service


def test_connect_on_the_api_key_row_shows_a_fingerprint_and_never_the_key(provisioned):
    alice, session = sign_in(provisioned, "alice")
    need = _need(provisioned, "api_key")
    at = _press(_open(session), view.CONNECT, need)
    row = _table(at).set_index("Provider").loc[need.provider]
    assert row.Status.endswith(view.CONNECTED) and row.Preview.startswith("sha256:")
    key = provisioned.broker.holdings(alice, [need]).credential(need)
    assert row.Preview == key.fingerprint and key.value and key.value not in row.Preview
    assert key.fingerprint.encode() in _rendered(at)  # the search below does reach the table's cells
    assert key.value.encode() not in _rendered(at) and key.value not in repr(at.session_state)
    assert f"is connected (`{key.fingerprint}`)" in at.main.success[0].value
    activity = next(df.value for df in at.dataframe if list(df.value.columns) == list(view.ACTIVITY_COLUMNS))
    assert "GetResourceAPIKey" in set(activity["Action"])
    # the workload access token it took is shown by its claims, never as a token
    wat = provisioned.broker.cache.peek(CacheKey(alice.key, provisioned.broker.workload(), "workload"))
    assert wat.value.encode() not in _rendered(at) and wat.fingerprint in _texts(at)
    id_claims, wat_claims = [dict(zip(df.value["Claim"], df.value["Value"], strict=True)) for df in at.dataframe
                             if list(df.value.columns) == list(view.CLAIM_COLUMNS)]
    assert id_claims["sub"] == alice.subject
    assert provisioned.broker.workload() in wat_claims["sub"] and alice.subject in wat_claims["ujwt"]


def test_the_workload_access_token_can_be_fetched_and_is_shown_by_its_claims(provisioned):
    alice, session = sign_in(provisioned, "alice")
    at = _open(session)
    at.button(key="credentials_workload_fetch").click().run()
    assert not at.exception and "credentials_workload_fetch" not in [button.key for button in at.button]
    wat = provisioned.broker.cache.peek(CacheKey(alice.key, provisioned.broker.workload(), "workload"))
    assert wat is not None and wat.fingerprint in _texts(at) and wat.value.encode() not in _rendered(at)
    assert [a.action for a in provisioned.broker.log.of(alice.key)] == ["GetWorkloadAccessTokenForJWT"]


def test_connect_on_the_mcp_row_shows_a_pending_consent_with_an_authorize_link(provisioned):
    alice, session = sign_in(provisioned, "alice")
    need = _need(provisioned, "oauth2", provisioned.settings.mcp_oauth_provider_name)
    at = _press(_open(session), view.CONNECT, need)
    assert _statuses(at)[need.provider] == view.CONSENT_PENDING
    assert "needs your consent" in at.main.info[0].value
    [link] = at.get("link_button")
    assert link.value == "Authorize"
    [consent] = provisioned.broker.consents.of(alice.key)
    assert link.proto.url == authorize_link(provisioned.settings.app_url, consent.state)  # the app's binding route
    assert consent.authorization_url.startswith(f"{provisioned.target.local.urls.public}/oauth2/authorize?")
    assert "left to authorize" in _texts(at)


def test_an_approved_consent_connects_the_row_and_disconnect_turns_it_back(provisioned):
    alice, session = sign_in(provisioned, "alice")
    need = _need(provisioned, "oauth2", provisioned.settings.mcp_oauth_provider_name)
    at = _press(_open(session), view.CONNECT, need)
    [link] = at.get("link_button")
    state = query_of(link.proto.url)["state"]  # the app's Authorize route for this consent
    give_consent(provisioned.broker, alice, state, "alice", provisioned.settings.consent_return_url)
    at.button(key="credentials_recheck").click().run()
    assert _statuses(at)[need.provider] == view.CONNECTED and not at.get("link_button")
    connected_as = dict(zip(_table(at)["Provider"], _table(at)["Connected as"], strict=True))
    assert connected_as[need.provider] == f"you ({alice.subject})"  # the provider account the token is for
    token = provisioned.broker.holdings(alice, [need]).credential(need)
    assert token.value.encode() not in _rendered(at)

    _press(at, view.DISCONNECT, need)
    assert _statuses(at)[need.provider] == view.NOT_CONNECTED
    assert "is disconnected" in at.main.info[0].value


def test_refresh_on_an_oauth2_row_starts_a_fresh_consent_that_supersedes_the_first(provisioned):
    _, session = sign_in(provisioned, "alice")
    need = _need(provisioned, "oauth2", provisioned.settings.mcp_oauth_provider_name)
    at = _press(_open(session), view.CONNECT, need)
    [first] = at.get("link_button")
    _press(at, view.REFRESH, need)
    [second] = at.get("link_button")
    assert second.proto.url != first.proto.url
    assert _statuses(at)[need.provider] == view.CONSENT_PENDING


def test_disconnect_turns_connected_api_key_and_sts_rows_back(provisioned):
    _, session = sign_in(provisioned, "alice")
    key, sts = _need(provisioned, "api_key"), _need(provisioned, "sts")
    at = _press(_press(_open(session), view.CONNECT, key), view.CONNECT, sts)
    assert _statuses(at)[key.provider] == _statuses(at)[view.provider_label(sts)] == view.CONNECTED
    _press(at, view.DISCONNECT, key)
    assert _statuses(at)[key.provider] == view.NOT_CONNECTED
    assert _statuses(at)[view.provider_label(sts)] == view.CONNECTED
    _press(at, view.DISCONNECT, sts)
    assert _statuses(at)[view.provider_label(sts)] == view.NOT_CONNECTED


def test_refresh_fetches_a_new_api_key_call(provisioned):
    alice, session = sign_in(provisioned, "alice")
    need = _need(provisioned, "api_key")
    at = _press(_press(_open(session), view.CONNECT, need), view.REFRESH, need)
    calls = [a.action for a in provisioned.broker.log.of(alice.key)]
    assert calls.count("GetResourceAPIKey") == 2 and _statuses(at)[need.provider] == view.CONNECTED


def test_a_cloud_error_shows_its_code_and_marks_the_row(provisioned, monkeypatch):
    _, session = sign_in(provisioned, "alice")
    monkeypatch.setenv("API_KEY_PROVIDER_NAME", "no-such-provider")
    st.cache_resource.clear()  # a runtime with the changed setting
    reset_runtime()
    runtime = get_runtime()
    need = _need(runtime, "api_key")
    at = _press(_open(session), view.CONNECT, need)
    assert "`EntityNotExist" in at.main.error[0].value or "`NoPermission" in at.main.error[0].value
    assert _statuses(at)["no-such-provider"] == view.ERROR
    assert any(m.value.startswith("**no\\-such\\-provider** · API key · 🔴 error: `") for m in at.main.markdown)
    assert "Traceback" not in _texts(at)


def test_not_provisioned_says_so_with_a_link_to_setup(provisioned):
    _, session = sign_in(provisioned, "alice")
    provisioned.settings.config_json.unlink()  # the sign-in session stays; the resources' record is gone
    at = _open(session)
    assert "open Setup and press Provision" in at.main.error[0].value
    assert "Open Setup" in _links(at)
    assert set(_statuses(at).values()) == {view.NOT_CONNECTED}
    _press(at, view.CONNECT, _need(provisioned, "sts"))
    assert "open Setup and press Provision" in at.main.error[0].value


def test_an_untrusted_authorization_url_is_never_a_button(provisioned):
    alice, session = sign_in(provisioned, "alice")
    now = time.time()
    provisioned.broker.consents.add(PendingConsent(
        "forged", alice.key, provisioned.settings.mcp_oauth_provider_name, ("openid",),
        "https://evil.example/oauth2/authorize?request_uri=x", "urn:x", now, now + 600))
    at = _open(session)
    assert not at.get("link_button")
    assert view.UNTRUSTED_LINK in _texts(at) and b"evil.example" not in _rendered(at)
