"""The process environment a benchmark needs, settled before any Alibaba Cloud SDK is imported."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

from identity.cloud import PROXY_VARIABLES

__all__ = ["BASE_ENVIRON", "REPO_ROOT", "adopt_cloud_environment", "free_port", "prepare_environment", "served",
           "stop_process"]

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


@contextmanager
def served(app: Any, start_seconds: float = 30, port: int = 0, **options: Any) -> Iterator[int]:
    """An ASGI app served by uvicorn on 127.0.0.1 (`port`, or any free one) in a thread, from a socket bound here
    (so raw-socket tests know the port at once), lifespan included; yields the port and stops the server afterwards.
    AssertionError if it has not started within `start_seconds`. `options` go to `uvicorn.Config`. The one copy:
    the tests (through tests.support) and the benchmarks serve their helper apps with it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", port))
    sock.listen(16)
    # h11 and asyncio, whatever else is installed (uvicorn picks httptools/uvloop when present, and they read a raw
    # request line differently): tests and benchmarks see the same server on every machine.
    server = uvicorn.Server(uvicorn.Config(app, **{"log_level": "critical", "access_log": False, "http": "h11",
                                                   "loop": "asyncio", **options}))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_seconds
    while not server.started and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.02)  # a poll interval: the deadline bounds the wait
    try:
        if not server.started:
            raise AssertionError(f"uvicorn did not start within {start_seconds:.0f} s on port {sock.getsockname()[1]}")
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
