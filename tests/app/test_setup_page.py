"""The Setup page, run by AppTest on its own against a real localcloud: plan, provision, clear, failures."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import localcloud
from identity.errors import CloudError
from identity.provision import SAMPLE_KEYS, engine
from identity.provision.steps import STEPS
from tests.conftest import repo_root
from tests.support import local_app_env, verified_sign_in
from ui.runtime import get_runtime
from ui.signin import STATE_KEY, AuthState

PAGE = str(repo_root() / "pages" / "setup.py")
CALLER = next(step.title for step in STEPS if step.key == "caller_identity")  # a lookup, not a resource
ROLE = next(step.title for step in STEPS if step.key == "role")
THROTTLED = ("Throttling.User", "Request was denied due to user flow control.")


@pytest.fixture
def config_json(fresh_cloud: localcloud.LocalCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Local-mode settings on the session's (reset) localcloud, with a private `.config.json`."""
    yield from local_app_env(fresh_cloud, tmp_path, monkeypatch)


def _open() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    return at


def signed_in(at: AppTest, username: str = "alice") -> AppTest:
    """This tab signs in as `username` (a real, verified sign-in and login session): once Setup is provisioned,
    only an administrator (APP_ADMINS, local default alice) may change it."""
    runtime = get_runtime()
    user = verified_sign_in(runtime.target.local, runtime.settings, runtime.target.oauth_discovery_url, username)
    at.session_state[STATE_KEY] = AuthState(session_id=runtime.sessions.create(user, time.time()))
    return at


def _press(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception
    return at


def _statuses(at: AppTest) -> dict[str, str]:
    """Step title → status word, from the page's resource table."""
    table = at.dataframe[0].value
    assert list(table.columns) == ["Step", "Resource", "Status", "Detail"]
    return {row.Step: row.Status.split(" ", 1)[1] for row in table.itertuples()}


def _resources(statuses: dict[str, str]) -> set[str]:
    return {status for title, status in statuses.items() if title != CALLER}


def _texts(at: AppTest) -> str:
    kinds = ("markdown", "caption", "info", "success", "warning", "error", "title", "subheader")
    return "\n".join(str(element.value) for kind in kinds for element in getattr(at, kind))


def _throttled(deployment: object) -> str:
    raise CloudError(*THROTTLED, status=400)


def test_banner_says_the_built_in_local_cloud_and_nothing_is_entered(config_json):
    at = _open()
    assert any("Running on the built-in local cloud" in info.value for info in at.info)
    assert not at.text_input  # local mode needs no secrets
    assert "Press **Plan**" in _texts(at)
    assert not at.dataframe


def test_plan_provision_plan_shows_create_created_keep(config_json):
    at = _press(_open(), "setup_plan")
    planned = _statuses(at)
    assert len(planned) == len(STEPS) and _resources(planned) == {"create"}
    assert "created" not in (json.loads(config_json.read_text()) if config_json.exists() else {})  # nothing made

    _press(at, "setup_provision")
    provisioned = _statuses(at)
    assert _resources(provisioned) == {"created"} and provisioned[CALLER] == "kept"
    assert at.status[0].label == "Provision finished"
    assert len(at.status[0].markdown) == len(STEPS)  # one progress line per step
    assert at.success[0].value == f"Provision finished: {len(STEPS) - 1} created, 1 kept."
    recorded = json.loads(config_json.read_text())
    assert set(SAMPLE_KEYS) <= recorded.keys()

    _press(at, "setup_plan")
    assert set(_statuses(at).values()) == {"keep"}


def test_clear_needs_a_confirmation_and_then_deletes_everything(config_json):
    at = signed_in(_press(_open(), "setup_provision"))
    _press(at, "setup_clear")
    assert f"Clear deletes the {len(STEPS) - 1} resources Provision created" in at.warning[0].value
    assert config_json.exists() and not at.status  # nothing ran
    _press(at, "setup_clear_cancel")
    assert not at.warning and config_json.exists()
    _press(at, "setup_plan")
    assert set(_statuses(at).values()) == {"keep"}  # everything still there

    _press(_press(at, "setup_clear"), "setup_clear_confirm")
    cleared = _statuses(at)
    assert _resources(cleared) == {"deleted"} and cleared[CALLER] == "absent"
    assert at.status[0].label == "Clear finished"
    assert not config_json.exists()
    assert not at.warning
    _press(at, "setup_plan")
    assert _resources(_statuses(at)) == {"create"}


def test_pressing_plan_disarms_a_pending_clear(config_json):
    at = _press(signed_in(_press(_open(), "setup_provision")), "setup_clear")
    _press(at, "setup_plan")
    assert not at.warning and "setup_clear_confirm" not in [button.key for button in at.button]
    assert config_json.exists()


def test_a_failing_step_shows_code_message_and_how_to_resume_then_resumes(config_json, monkeypatch):
    failing = tuple(dataclasses.replace(s, create=_throttled) if s.key == "role" else s for s in STEPS)
    monkeypatch.setattr(engine, "STEPS", failing)
    at = _press(_open(), "setup_provision")
    assert not at.exception
    error = at.error[0].value
    assert f"**{ROLE}** failed with `{THROTTLED[0]}`: {THROTTLED[1]}" in error
    assert "press Provision again: it resumes where it stopped" in error
    assert at.status[0].label == "Provision stopped"
    statuses = _statuses(at)
    assert list(statuses)[-1] == ROLE and statuses[ROLE] == "failed"  # the table stops at the failed step
    assert "Traceback" not in _texts(at)

    monkeypatch.setattr(engine, "STEPS", STEPS)  # the cause is fixed
    _press(signed_in(at), "setup_provision")  # half-provisioned already: an administrator's action
    resumed = _statuses(at)
    assert not at.error
    assert resumed[ROLE] == "created" and resumed[STEPS[0].title] == "kept"
    assert len(resumed) == len(STEPS)


def test_a_bad_setting_is_shown_not_raised(config_json, monkeypatch):
    monkeypatch.setenv("APP_REDIRECT_URI", "not a url")
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert "APP_REDIRECT_URI" in at.error[0].value
    assert not at.button


def test_cloud_mode_asks_for_secrets_never_echoes_them_and_shows_the_mcp_console_step(config_json, monkeypatch):
    monkeypatch.setenv("AGENT_IDENTITY_MODE", "cloud")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "LTAI-test")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "test-secret")
    monkeypatch.setenv("APP_SETUP_TOKEN", "the-operators-setup-token")
    config_json.write_text(json.dumps({"mcp_app_name": "aliyun-mcp-1a2b3c4d", "account_id": "5551234"}))
    at = _open()
    assert "Running on Alibaba Cloud: account 5551234, region cn-beijing" in _texts(at)
    assert [field.label for field in at.text_input] == ["Setup token"]  # nothing else until the operator's token
    at.text_input[0].input("the-operators-setup-token").run()
    assert [field.label for field in at.text_input] == [
        "Setup token", "Weather service API key", "DingTalk app client id", "DingTalk app client secret"]
    assert all(field.proto.type == field.proto.PASSWORD for field in at.text_input)
    assert "**resourcecenter**" in _texts(at) and "`aliyun-mcp-1a2b3c4d`" in _texts(at)

    at.text_input[1].input("weather-key-value")
    at.text_input[3].input("dingtalk-secret-value").run()
    assert not at.exception
    assert "weather-key-value" not in _texts(at) and "dingtalk-secret-value" not in _texts(at)
    kept = repr(at.session_state)  # what the session holds beyond the widgets themselves
    assert "weather-key-value" not in kept and "dingtalk-secret-value" not in kept
