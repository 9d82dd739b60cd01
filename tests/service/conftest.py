"""The agent service's fixtures: a provisioned localcloud (the session's, reset) and the service in this process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import localcloud
from tests.service.support import Service, service_in_process


@pytest.fixture
def service(fresh_cloud: localcloud.LocalCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    """`create_app(build_agent_runtime(os.environ))` on uvicorn in a thread, provisioned, on a fresh database."""
    with service_in_process(fresh_cloud, tmp_path, monkeypatch) as running:
        yield running
