"""Shared fixtures: a real localcloud on 127.0.0.1 and official SDK configs pointed at it."""

from __future__ import annotations

import os

# The Alibaba SDKs ignore NO_PROXY and read credentials when imported: settle the environment first.
for _name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_name, None)
os.environ["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from alibabacloud_tea_openapi import models as open_api_models  # noqa: E402

import localcloud  # noqa: E402
from agent.memory import CHATS_FILE  # noqa: E402
from identity import provision  # noqa: E402
from tests.support import local_app_env  # noqa: E402
from ui.runtime import AppRuntime, app_state_dir, get_runtime  # noqa: E402


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> localcloud.LocalCloud:
    """One localcloud for the test session, on a free port with its own data directory."""
    return localcloud.start(port=0, data_dir=tmp_path_factory.mktemp("localcloud"))


@pytest.fixture
def fresh_cloud(cloud: localcloud.LocalCloud) -> Iterator[localcloud.LocalCloud]:
    """The session's localcloud with every resource forgotten before the test."""
    cloud.reset()
    yield cloud


def tea_config(cloud: localcloud.LocalCloud, **overrides: object) -> open_api_models.Config:
    """A Tea SDK config pointed at localcloud over plain HTTP, signed with its root key."""
    values: dict[str, object] = {
        "access_key_id": cloud.access_key_id, "access_key_secret": cloud.access_key_secret,
        "endpoint": cloud.endpoint, "protocol": "http", "region_id": cloud.region,
        "read_timeout": 10000, "connect_timeout": 5000,
    }
    values.update(overrides)
    return open_api_models.Config(**values)


@pytest.fixture
def config(fresh_cloud: localcloud.LocalCloud) -> open_api_models.Config:
    return tea_config(fresh_cloud)


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
def chat_runtime(fresh_cloud: localcloud.LocalCloud, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[AppRuntime]:
    """The app's runtime for the Chat and Inspect pages: local mode on the session's (reset) localcloud,
    provisioned, with an empty chat store."""
    for _ in local_app_env(fresh_cloud, tmp_path, monkeypatch):
        runtime = get_runtime()
        chats = app_state_dir(runtime.settings) / CHATS_FILE
        chats.unlink(missing_ok=True)  # the session's state directory is shared by every test
        provision.apply(runtime.clients, runtime.settings)
        yield runtime
        chats.unlink(missing_ok=True)
