"""Real faults for the security suite: a localcloud process that can be killed and restarted, tiny HTTP servers
that fail, stall or drop the connection on purpose, and a bound on every wait so a hang fails instead of hanging.

Nothing here stands in for the app's own code: these are the far ends of its connections.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from starlette.applications import Starlette

import localcloud
from identity import provision
from tests.conftest import repo_root
from tests.support import local_app_env, served
from ui.runtime import AppRuntime, get_runtime
from web.routes import http_routes

T = TypeVar("T")

START_SECONDS = 30.0     # a localcloud process gets this long to answer its health check
HANG_SECONDS = 60.0      # a stalling server gives up after this, so no thread outlives the test run by much


def bounded(call: Callable[[], T], seconds: float, what: str) -> T:
    """`call()` in a thread of its own; fails the test if it is not done within `seconds` (it would hang)."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:  # handed to the test's thread as it is
            outcome["error"] = error

    thread = threading.Thread(target=target, name=f"bounded-{what}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise AssertionError(f"{what} did not finish within {seconds:.0f} s: it hangs")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# -- localcloud as its own process ------------------------------------------------------------------------------
def _child_environment() -> dict[str, str]:
    """This environment without what would point the child elsewhere (proxies, another localcloud's settings)."""
    dropped = ("LOCALCLOUD_PORT", "LOCALCLOUD_DATA_DIR", "LOCALCLOUD_PUBLIC_URL", "HTTP_PROXY", "HTTPS_PROXY",
               "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")
    return {name: value for name, value in os.environ.items() if name not in dropped}


@dataclass
class LocalCloudProcess:
    """`python -m localcloud --port PORT --data-dir DIR`: killed like a crash (SIGKILL), started again alike."""

    port: int
    data_dir: Path
    log: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "localcloud", "serve", "--port", str(self.port), "--data-dir",
                 str(self.data_dir)], cwd=repo_root(), env=_child_environment(), stdout=log,
                stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_SECONDS
        while not self.healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"localcloud did not start on {self.url}: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/_localcloud/health", timeout=1.0, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """Die at once, as in a crash: no shutdown handler runs, nothing is flushed on purpose."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None


# -- tiny HTTP servers that misbehave -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Received:
    """One request a fault server got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def action(self) -> str:
        """The Tea RPC action (ACS3 header, or `Action` in a v2 query)."""
        query = parse_qs(urlsplit(self.path).query)
        return self.headers.get("x-acs-action") or (query.get("Action") or [""])[0]


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class Hang:
    """Answer nothing: hold the connection until the server stops (or HANG_SECONDS pass)."""


class Drop:
    """Close the connection without an answer."""


HANG, DROP = Hang(), Drop()
Answer = Callable[[Received], Reply | Hang | Drop]
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"})


class FaultServer:
    """A threaded HTTP server on 127.0.0.1 whose `answer(request)` decides each reply; it keeps what it got."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.received: list[Received] = []
        self.released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-server", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def count(self, path: str) -> int:
        return sum(1 for request in self.received if urlsplit(request.path).path == path)

    def stop(self) -> None:
        self.released.set()  # stalled handlers return now
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def __enter__(self) -> FaultServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _handler_for(owner: FaultServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # else every keep-alive answer waits ~40 ms for a delayed ACK

        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            request = Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                               self.rfile.read(length) if length else b"")
            owner.received.append(request)
            reply = owner.answer(request)
            if isinstance(reply, Hang):
                owner.released.wait(HANG_SECONDS)
            if not isinstance(reply, Reply):
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, *_args: Any) -> None:  # quiet: the test's output is its assertions
            return

    return Handler


def forward(base_url: str, request: Received) -> Reply:
    """Pass a request on to `base_url` unchanged (the Host header too, so signatures over it still verify)."""
    headers = {k: v for k, v in request.headers.items() if k not in _HOP_BY_HOP}
    with httpx.Client(trust_env=False, timeout=30) as http:
        answer = http.request(request.method, f"{base_url}{request.path}", headers=headers, content=request.body)
    return Reply(answer.status_code, answer.content, dict(answer.headers))


def alibaba_error(code: str, message: str, status: int = 400) -> Reply:
    """An error the way Alibaba Cloud's RPC front answers one."""
    body = f'{{"RequestId": "FAULT-1", "Code": "{code}", "Message": "{message}", "HostId": "fault"}}'
    return Reply(status, body.encode(), {"Content-Type": "application/json;charset=utf-8"})


# -- the app's own routes over real HTTP ----------------------------------------------------------------------------
@contextmanager
def app_routes() -> Iterator[str]:
    """The app's HTTP routes (sign-in and consent return), wired to the process's runtime exactly as app.py wires
    them, served by uvicorn on 127.0.0.1; yields their base URL."""
    with served(Starlette(routes=http_routes()), START_SECONDS) as port:
        yield f"http://127.0.0.1:{port}"


def files_holding(roots: Iterable[Path], secrets: Mapping[str, str]) -> dict[str, list[str]]:
    """Which files under `roots` contain which secret (by label), bytes as stored (SQLite pages and WAL included)."""
    found: dict[str, list[str]] = {}
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            data = path.read_bytes()
            labels = [label for label, value in secrets.items() if value.encode() in data]
            if labels:
                found[str(path)] = labels
    return found


def vaulted_tokens(data_dir: Path, workload: str) -> dict[str, str]:
    """The OAuth2 tokens (access and refresh) localcloud's vault holds for a workload identity, read-only."""
    db = sqlite3.connect(f"file:{data_dir / 'localcloud.sqlite3'}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT data FROM resources WHERE kind = 'agentidentitydata.vault'").fetchall()
    finally:
        db.close()
    found: dict[str, str] = {}
    for document in (json.loads(row[0]) for row in rows):
        if document["key"]["workload"] == workload:
            provider, entry = document["key"]["provider"], document["entry"]
            found.update({f"vaulted {provider} {kind}": entry[kind] for kind in ("access_token", "refresh_token")
                          if entry.get(kind)})
    return found


def provisioned_app(cloud: localcloud.LocalCloud, directory: Path,
                    monkeypatch: pytest.MonkeyPatch) -> Iterator[AppRuntime]:
    """The app's own runtime in local mode on `cloud`, provisioned as Setup → Provision does, with private state."""
    for _ in local_app_env(cloud, directory, monkeypatch):
        runtime = get_runtime()
        provision.apply(runtime.clients, runtime.settings)
        yield runtime
