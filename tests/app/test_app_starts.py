"""The app renders its pages on localcloud, and a bad setting is an error message, not a traceback."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.conftest import repo_root
from ui.runtime import reset_runtime

# Settings that would send the app elsewhere if the developer's shell happens to have them.
_FOREIGN = ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "AGENT_IDENTITY_MODE", "LOCALCLOUD_URL",
            "LOCALCLOUD_PUBLIC_URL", "APP_REDIRECT_URI")


@pytest.fixture
def local_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """A fresh runtime per test (AppTest shares `st.cache_resource` across runs in one process)."""
    for name in _FOREIGN:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOCALCLOUD_PORT", "0")
    monkeypatch.setenv("LOCALCLOUD_DATA_DIR", str(tmp_path / "lc"))
    monkeypatch.setenv("CONFIG_JSON", str(tmp_path / ".config.json"))
    st.cache_resource.clear()
    reset_runtime()
    yield monkeypatch
    st.cache_resource.clear()
    reset_runtime()


def _run() -> AppTest:
    return AppTest.from_file(str(repo_root() / "app.py"), default_timeout=30).run()


def test_the_login_page_opens_first_with_the_local_cloud_banner(local_env: pytest.MonkeyPatch) -> None:
    at = _run()

    assert not at.exception
    assert at.title[0].value == "Login"
    assert at.sidebar.info[0].value.startswith("Running on the built-in local cloud (http://127.0.0.1:")


@pytest.mark.parametrize(("page", "title"), [("pages/chat.py", "Chat"), ("pages/credentials.py", "Credentials"),
                                             ("pages/inspect.py", "Inspect"), ("pages/policies.py", "Policies"),
                                             ("pages/setup.py", "Setup"),
                                             ("pages/login.py", "Login")])
def test_every_page_is_reachable_from_the_navigation(local_env: pytest.MonkeyPatch, page: str, title: str) -> None:
    at = _run()

    at.switch_page(page).run()

    assert not at.exception
    assert [t.value for t in at.title] == [title]
    assert "local cloud" in at.sidebar.info[0].value


def test_the_runtime_is_built_once_and_shared(local_env: pytest.MonkeyPatch) -> None:
    first = _run()
    second = _run()

    assert first.sidebar.info[0].value == second.sidebar.info[0].value


def test_a_bad_setting_shows_what_to_fix_instead_of_a_traceback(local_env: pytest.MonkeyPatch) -> None:
    local_env.setenv("APP_REDIRECT_URI", "localhost")

    at = _run()

    assert not at.exception
    assert len(at.error) == 1
    assert "APP_REDIRECT_URI='localhost'" in at.error[0].value
    assert "secrets.toml" in at.error[0].value  # the hint
    assert not at.title  # the page stops at the error


def test_cloud_mode_without_a_key_says_which_key_is_missing(local_env: pytest.MonkeyPatch) -> None:
    local_env.setenv("AGENT_IDENTITY_MODE", "cloud")

    at = _run()

    assert not at.exception
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in at.error[0].value


def test_importing_the_app_module_declares_no_component() -> None:
    """`streamlit run` imports app.py before Streamlit's runtime exists; a component declared then (streamlit-oauth's
    sign-in button) is never served, and the Login page shows an empty box."""
    probe = "import sys, app; print(sorted(m for m in sys.modules if m.startswith('streamlit_oauth')))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=repo_root(), capture_output=True, text=True, timeout=120,
                          check=True)
    assert done.stdout.strip() == "[]"
