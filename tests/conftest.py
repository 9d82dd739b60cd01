"""Shared fixtures: a real localcloud on 127.0.0.1 and official SDK configs pointed at it."""

from __future__ import annotations

import os

from identity.cloud import prepare_process_environment

# The Alibaba SDKs ignore NO_PROXY and read credentials when imported: settle the environment first.
prepare_process_environment()
os.environ["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"

from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from alibabacloud_tea_openapi import models as open_api_models  # noqa: E402

import localcloud  # noqa: E402
from identity import provision  # noqa: E402
from identity.store import Database, database_url, open_database  # noqa: E402
from tests.support import local_app_env  # noqa: E402
from ui.runtime import AppRuntime, get_runtime  # noqa: E402


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
        runtime = get_runtime()  # with a database of this test's own (local_app_env)
        provision.apply(runtime.clients, runtime.settings)
        yield runtime


# -- PostgreSQL: one throwaway cluster per run, one fresh database per test ---------------------------------------
import uuid  # noqa: E402

from tests.postgres import PostgresServer, postgres_cluster  # noqa: E402


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A PostgreSQL cluster for the whole run (started on first use; fails, never skips, without PostgreSQL)."""
    with postgres_cluster(tmp_path_factory.mktemp("postgres")) as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The SQLAlchemy URL of an empty database of this test's own; dropped afterwards, open connections or not."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    yield postgres_server.create_database(name)
    postgres_server.drop_database(name)


# -- the app's database on both engines ------------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The app's state store, migrated, on embedded SQLite and on a real PostgreSQL server (a fresh database each)."""
    directory = tmp_path / ".appstate"
    url = database_url(None, directory) if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    opened = open_database(url, directory, secret_key="k" * 32)
    yield opened
    opened.close()
