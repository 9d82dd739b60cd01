"""The process environment a benchmark needs, settled before any Alibaba Cloud SDK is imported."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from identity.cloud import PROXY_VARIABLES

__all__ = ["BASE_ENVIRON", "REPO_ROOT", "adopt_cloud_environment", "prepare_environment", "stop_process"]

REPO_ROOT = Path(__file__).resolve().parent.parent
_PROXIES = PROXY_VARIABLES
# Settings from the developer's shell that would point the app or the SDK somewhere else.
_FOREIGN = ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN",
            "AGENT_IDENTITY_MODE", "AGENT_IDENTITY_WORKLOAD_IDENTITY_NAME", "AGENT_IDENTITY_WORKLOAD_ACCESS_TOKEN",
            "LOCALCLOUD_URL", "LOCALCLOUD_PUBLIC_URL", "APP_REDIRECT_URI", "CONFIG_JSON")
# The environment before localcloud's keys were added: what child processes (Streamlit) start with.
BASE_ENVIRON: dict[str, str] = {}


def prepare_environment() -> None:
    """No proxies (the Tea SDKs ignore NO_PROXY) and no ECS metadata probing; the repo importable by path."""
    for name in (*_PROXIES, *_FOREIGN):
        os.environ.pop(name, None)
    os.environ["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
    BASE_ENVIRON.clear()
    BASE_ENVIRON.update(os.environ)
    # The official SDK writes .config.json into the working directory, so benchmarks change it: imports
    # must then still find the repository.
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))


def adopt_cloud_environment(env: Mapping[str, str]) -> None:
    """Point the default credential chain at localcloud; refuses once the chain has read the environment."""
    if "alibabacloud_credentials" in sys.modules:
        raise RuntimeError("alibabacloud_credentials was imported before the benchmark set its keys: it reads "
                           "ALIBABA_CLOUD_ACCESS_KEY_ID at import time. Import Alibaba SDKs only after this call.")
    os.environ.update(env)


def stop_process(process: subprocess.Popen[Any], grace: float = 20) -> None:
    """Ask a child server to stop; kill it if it has not within `grace` seconds."""
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def free_port() -> int:
    """A port nothing listens on (closed again at once: connecting to it is refused until someone takes it).
    The one copy: the tests and the benchmarks both use it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
