"""Contracts between README.md, CI and the repository layout that later work relies on."""

from __future__ import annotations

import re
import subprocess

from tests.conftest import repo_root

TEST_COMMAND = "pip install -r requirements-dev.txt && python -m ruff check . && python -m mypy && python -m pytest"
START_COMMAND = "pip install -r requirements.txt && streamlit run app.py"


def documentation() -> str:
    """README.md (the front door) and the reference it links to in docs/."""
    paths = [repo_root() / "README.md", *sorted((repo_root() / "docs").glob("*.md"))]
    return "\n".join(path.read_text() for path in paths)


def test_the_readme_is_a_front_door_that_links_every_document():
    readme = (repo_root() / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    for path in sorted((repo_root() / "docs").glob("*.md")):
        assert f"](docs/{path.name})" in readme, f"README.md does not link docs/{path.name}"


def test_readme_and_ci_run_the_same_test_command():
    readme = (repo_root() / "README.md").read_text()
    ci = (repo_root() / ".ci" / "run").read_text()
    assert TEST_COMMAND in readme
    assert START_COMMAND in readme
    assert any(line.strip() == TEST_COMMAND for line in ci.splitlines())


def test_every_localcloud_env_variable_is_documented(cloud):
    readme = documentation()
    for name in [*cloud.env(), "LOCALCLOUD_PORT", "LOCALCLOUD_DATA_DIR", "LOCALCLOUD_REGION"]:
        assert f"`{name}`" in readme, f"README.md and docs/ do not document {name}"


def test_local_state_and_secrets_are_ignored_by_git():
    for path in [".localcloud/x.sqlite3", ".appstate/login_sessions.sqlite3", ".config.json",
                 ".streamlit/secrets.toml"]:
        done = subprocess.run(["git", "check-ignore", "-q", path], cwd=repo_root(), check=False)
        assert done.returncode == 0, f"{path} is not git-ignored"


def test_runtime_requirements_are_pinned():
    lines = [line.split("#")[0].strip() for line in (repo_root() / "requirements.txt").read_text().splitlines()]
    for line in filter(None, lines):
        assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][\w.]*", line), f"not pinned: {line}"


def test_the_security_settings_routes_and_cookies_are_documented():
    readme = documentation()
    for name in ("APP_ALLOWED_HOSTS", "APP_ADMINS", "APP_SETUP_TOKEN", "GET /consent/authorize?state=…",
                 "GET /auth/begin?attempt=…", "aid_signin", "aid_consent", "__Host-aid_session"):
        assert name in readme, f"README.md and docs/ do not document {name}"


def test_the_state_store_settings_and_the_replica_set_are_documented():
    readme = documentation()
    for name in ("APP_DATABASE_URL", "APP_SECRET_KEY", "APP_REPLICA_NAME", ".appstate/app.sqlite3",
                 "STREAMLIT_SERVER_COOKIE_SECRET", "deploy/nginx.conf", "python -m localcloud env", "aid_replica",
                 "python -m localcloud serve --port 8790"):
        assert name in readme, f"README.md and docs/ do not document {name}"
    assert (repo_root() / "deploy" / "nginx.conf").is_file()
