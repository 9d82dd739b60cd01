"""Case 12, Setup has an owner: once provisioned, only an administrator (APP_ADMINS) may Provision or Clear, and the
check is made on the server at the moment of the action, so a crafted websocket message that presses a disabled
button changes nothing. Cloud mode's first Provision needs the operator's setup token.

The page runs through AppTest against a real localcloud; `AppTest.button(...).click()` sends exactly what a crafted
websocket message would (a widget value), whether the button was drawn enabled or not.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import localcloud
from identity import provision
from identity.provision import SetupAccess, setup_access
from identity.provision.steps import STEPS
from identity.settings import load_settings
from identity.users import SignedInUser
from tests.app.test_setup_page import PAGE, signed_in
from tests.security.fault_support import provisioned_app
from tests.support import local_app_env
from ui.runtime import get_runtime, reset_runtime

CLOUD_KEYS = {"AGENT_IDENTITY_MODE": "cloud", "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAI-test",
              "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "test-secret"}


@pytest.fixture
def provisioned_config(fresh_cloud: localcloud.LocalCloud, tmp_path: Path,
                       monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Local mode on a reset localcloud, provisioned: `.config.json` (yielded) records ten resources."""
    for runtime in provisioned_app(fresh_cloud, tmp_path, monkeypatch):
        yield runtime.settings.config_json


def _open(username: str | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    if username:
        signed_in(at, username)
    at.run()
    assert not at.exception
    return at


def _crafted_click(at: AppTest, key: str) -> AppTest:
    """What an attacker's websocket client sends: the button's widget id with a click, whether the page drew it
    enabled or not (AppTest refuses to click a disabled button, a websocket client does not care)."""
    button = at.button(key=key)
    button.proto.disabled = False
    button.click().run()
    assert not at.exception
    return at


def _crafted_clear(at: AppTest) -> AppTest:
    """Clear, then its confirmation if the page drew one."""
    _crafted_click(at, "setup_clear")
    if "setup_clear_confirm" in [button.key for button in at.button]:
        _crafted_click(at, "setup_clear_confirm")
    return at


def _infos(at: AppTest) -> str:
    return "\n".join(info.value for info in at.info)


def _created(config_json: Path) -> list[str]:
    return list(json.loads(config_json.read_text()).get("created", [])) if config_json.exists() else []


@pytest.mark.parametrize("username", [None, "bob"])
def test_a_visitor_who_is_no_administrator_sees_the_plan_read_only_and_why(provisioned_config, username):
    at = _open(username)

    assert at.button(key="setup_provision").disabled and at.button(key="setup_clear").disabled
    assert not at.button(key="setup_plan").disabled
    assert "only an administrator may change it (APP_ADMINS: alice)" in _infos(at)


@pytest.mark.parametrize("username", [None, "bob"])
def test_a_crafted_clear_from_a_visitor_who_is_no_administrator_deletes_nothing(provisioned_config, username):
    before = _created(provisioned_config)

    at = _crafted_click(_crafted_clear(_open(username)), "setup_provision")

    assert _created(provisioned_config) == before and len(before) == len(STEPS) - 1
    assert not any(status.label == "Clear finished" for status in at.status)
    runtime = get_runtime()
    assert provision.plan(runtime.clients, runtime.settings)[-1].status == "keep"  # still there, in the cloud too


def test_a_clear_pressed_after_the_administrator_signed_out_elsewhere_deletes_nothing(provisioned_config):
    """The buttons were drawn enabled for alice; she signs out in another tab; a click that arrives afterwards (her
    stale tab, or a message crafted on its websocket) is checked again at the moment of the action."""
    at = _open("alice")
    assert not at.button(key="setup_clear").disabled
    at.button(key="setup_clear").click().run()  # the confirmation is on screen now
    get_runtime().sessions.delete(at.session_state["auth"].session_id)  # signed out in another tab

    _crafted_click(at, "setup_clear_confirm")

    assert len(_created(provisioned_config)) == len(STEPS) - 1
    assert "setup_clear_confirm" not in [button.key for button in at.button]  # the question is gone with her
    assert "only an administrator may change it" in _infos(at)


def test_access_is_checked_again_at_the_moment_of_the_action(provisioned_config, monkeypatch):
    """The page decides once to draw the buttons and once more when an action runs: a sign-out (or an APP_ADMINS
    change) that lands between the two still stops it."""
    decisions = iter([SetupAccess(True), SetupAccess(False, "signed out meanwhile")])
    monkeypatch.setattr(provision, "setup_access", lambda *args: next(decisions, SetupAccess(False, "signed out")))
    at = _open("alice")
    decisions = iter([SetupAccess(True), SetupAccess(False, "signed out meanwhile")])

    _crafted_click(at, "setup_provision")

    assert "signed out meanwhile" in at.error[0].value and at.status[0].label == "Provision stopped"


def test_the_administrator_may_clear(provisioned_config):
    at = _crafted_clear(_open("alice"))

    assert at.status[0].label == "Clear finished" and not provisioned_config.exists()


def test_app_admins_names_who_may_change_setup(provisioned_config, monkeypatch):
    monkeypatch.setenv("APP_ADMINS", "bob, carol")
    reset_runtime()  # the settings are read again

    assert _open("alice").button(key="setup_clear").disabled
    assert _crafted_clear(_open("bob")).status[0].label == "Clear finished"


def test_cloud_mode_needs_the_setup_token_before_the_first_provision(fresh_cloud, tmp_path, monkeypatch):
    for _ in local_app_env(fresh_cloud, tmp_path, monkeypatch):
        for name, value in {**CLOUD_KEYS, "APP_SETUP_TOKEN": "the-operators-token"}.items():
            monkeypatch.setenv(name, value)
        at = _open()
        assert at.button(key="setup_provision").disabled and "needs the setup token" in _infos(at)

        _crafted_click(at, "setup_provision")  # without the token: discarded, nothing runs

        assert not at.status and at.button(key="setup_provision").disabled
        at.text_input[0].input("a-wrong-guess").run()
        assert at.button(key="setup_provision").disabled
        at.text_input[0].input("the-operators-token").run()
        assert not at.button(key="setup_provision").disabled


def _settings(**env: str) -> object:
    return load_settings({**env}, config_file="/nonexistent/config.yml")


def _user(login: str) -> SignedInUser:
    return SignedInUser("https://issuer.example", f"sub-{login}", login.title(), 2e9, "h.p.s",
                        {"login_name": login, "preferred_username": login})


def test_the_setup_rule_for_every_visitor():
    local, cloud = _settings(), _settings(**CLOUD_KEYS)
    assert setup_access(None, local, False, None, None) == SetupAccess(True)  # local, nothing provisioned yet
    assert not setup_access(None, local, True, None, None).allowed
    assert not setup_access(_user("bob"), local, True, None, None).allowed
    assert setup_access(_user("alice"), local, True, None, None).allowed
    assert not setup_access(_user("alice"), cloud, True, None, None).allowed  # cloud mode names no default admin
    assert not setup_access(None, cloud, False, None, "t0ken").allowed
    assert not setup_access(None, cloud, False, "guess", "t0ken").allowed
    assert not setup_access(None, cloud, False, "", None).allowed  # no token configured: nothing matches
    assert setup_access(None, cloud, False, "t0ken", "t0ken").allowed
