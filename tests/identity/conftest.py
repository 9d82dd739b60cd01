"""Identity-layer fixtures: settings pointed at a fresh localcloud and a private `.config.json`."""

from __future__ import annotations

from pathlib import Path

import pytest

import localcloud
from identity.clients import Clients
from identity.cloud import connect
from identity.settings import Settings, load_settings


def local_settings(cloud: localcloud.LocalCloud, config_dir: Path, **extra: str) -> Settings:
    """Local-mode settings that use an already running localcloud (as `python -m localcloud env` would)."""
    environ = {**cloud.env(), "CONFIG_JSON": str(config_dir / ".config.json"), **extra}
    return load_settings(environ, config_file=config_dir / "config.yml")


@pytest.fixture
def settings(fresh_cloud: localcloud.LocalCloud, tmp_path: Path) -> Settings:
    return local_settings(fresh_cloud, tmp_path)


@pytest.fixture
def clients(settings: Settings) -> Clients:
    return Clients(connect(settings))
