"""The placeholder app renders and starts localcloud, without an exception."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import repo_root


def test_app_renders_and_reports_localcloud(monkeypatch, tmp_path):
    monkeypatch.setenv("LOCALCLOUD_PORT", "0")
    monkeypatch.setenv("LOCALCLOUD_DATA_DIR", str(tmp_path / "lc"))
    at = AppTest.from_file(str(repo_root() / "app.py"), default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value == "Agent Identity Dashboard"
    assert "localcloud is running at http://127.0.0.1:" in at.success[0].value
