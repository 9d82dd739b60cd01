"""The deployment of deploy/README.md, started for a test: one standalone localcloud, nginx from deploy/nginx.conf
and N `streamlit run app.py` replicas, every port free and every file under one directory.

The replicas get what deploy/README.md exports (localcloud's `env`, the shared secrets, the nginx URL as
APP_REDIRECT_URI, one database) and nothing from the developer's shell that would point them elsewhere. Every wait is
bounded; a process that does not come up fails the test with the tail of its log.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from bench.environment import stop_process
from tests.conftest import repo_root
from tests.e2e.conftest import _FOREIGN, _PROXIES, _wait_until_healthy
from tests.support import free_port

__all__ = ["NGINX_TEMPLATE", "Replica", "ReplicaSet", "render_nginx_conf", "replica_set"]

NGINX_TEMPLATE = repo_root() / "deploy" / "nginx.conf"
START_TIMEOUT_SECONDS = 60.0
_LISTEN_LINE = "listen 127.0.0.1:8080;"  # deploy/nginx.conf's template convention (see its header)
_REPLICA_LINE = re.compile(r"^(?P<indent>\s*)server 127\.0\.0\.1:85\d\d(?P<rest>\b.*;)\s*$")
_UPSTREAM_LINE = re.compile(r"^\s*upstream\s")
_INSTALL_NGINX = "apt-get update && apt-get install -y nginx"


# -- nginx.conf ------------------------------------------------------------------------------------------------------
def render_nginx_conf(template: str, listen_port: int, replica_ports: Sequence[int]) -> str:
    """deploy/nginx.conf with its public port and one `server` line per replica in every upstream."""
    lines: list[str] = []
    listens = upstreams = 0
    replaced_in_block = True
    for line in template.splitlines():
        if _UPSTREAM_LINE.match(line):
            upstreams, replaced_in_block = upstreams + 1, False
        if line.strip() == _LISTEN_LINE:
            listens += 1
            line = line.replace("8080", str(listen_port))
        replica = _REPLICA_LINE.match(line)
        if replica is None:
            lines.append(line)
        elif not replaced_in_block:  # the block's first replica line is the pattern for all of them
            replaced_in_block = True
            lines.extend(f"{replica['indent']}server 127.0.0.1:{port}{replica['rest']}" for port in replica_ports)
    if listens != 1 or upstreams == 0:
        raise ValueError(f"{NGINX_TEMPLATE} no longer follows its template convention: {listens} `{_LISTEN_LINE}` "
                         f"lines, {upstreams} upstreams")
    return "\n".join(lines) + "\n"


def _nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if found is None:
        pytest.fail(f"The replica tests put nginx in front of the app, and nginx is missing. Install it with "
                    f"`{_INSTALL_NGINX}` (.ci/run does this).", pytrace=False)
    return found


# -- processes -------------------------------------------------------------------------------------------------------
def _tail(log: Path, lines: int = 60) -> str:
    if not log.is_file():
        return f"({log} was never written)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _start(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A child server with its output appended to `log` (a restarted replica keeps what it said before)."""
    with log.open("ab") as output:
        return subprocess.Popen(command, cwd=repo_root(), env=env, stdout=output, stderr=subprocess.STDOUT)


def _wait_for_answer(url: str, process: subprocess.Popen[bytes], log: Path, what: str, *,
                     status: int | None = None) -> None:
    """Poll `url` until it answers (with `status`, when given), the process dies, or the deadline passes."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited with {process.returncode}; its log ends:\n{_tail(log)}", pytrace=False)
        try:
            answered = httpx.get(url, trust_env=False, timeout=2).status_code
        except httpx.TransportError:
            answered = None
        if answered is not None and status in (None, answered):
            return
        time.sleep(0.2)  # a poll interval; the deadline bounds the wait
    pytest.fail(f"{what} did not answer {url} within {START_TIMEOUT_SECONDS:.0f} s; its log ends:\n{_tail(log)}",
                pytrace=False)


def _base_environment() -> dict[str, str]:
    """The test's environment without proxies (localcloud is on 127.0.0.1) and without the developer's own cloud,
    localcloud or app settings, which would point the replicas somewhere else."""
    return {name: value for name, value in os.environ.items()
            if name not in (*_PROXIES, *_FOREIGN, "AGENT_IDENTITY_MODE") and not name.startswith("APP_")}


def _distinct_free_ports(count: int) -> list[int]:
    """`count` different free ports: free_port releases each at once, so two calls may return the same one."""
    ports: list[int] = []
    while len(ports) < count:
        if (port := free_port()) not in ports:
            ports.append(port)
    return ports


def _localcloud_exports(port: int, data_dir: Path) -> dict[str, str]:
    """What `eval "$(python -m localcloud env ...)"` would export, as deploy/README.md has users do."""
    done = subprocess.run([sys.executable, "-m", "localcloud", "env", "--port", str(port), "--data-dir", str(data_dir)],
                          cwd=repo_root(), env=_base_environment(), capture_output=True, text=True, timeout=30,
                          check=False)
    if done.returncode != 0:
        pytest.fail(f"python -m localcloud env exited with {done.returncode}:\n{done.stdout}{done.stderr}",
                    pytrace=False)
    exports: dict[str, str] = {}
    for line in done.stdout.splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export" and "=" in words[1]:
            name, _, value = words[1].partition("=")
            exports[name] = value
    if "LOCALCLOUD_URL" not in exports:
        pytest.fail(f"python -m localcloud env printed no LOCALCLOUD_URL:\n{done.stdout}", pytrace=False)
    return exports


# -- the replica set -------------------------------------------------------------------------------------------------
@dataclass
class Replica:
    """One `streamlit run app.py`; stop() and start() again to play a replica dying and coming back."""

    name: str
    port: int
    log: Path
    environment: dict[str, str] = field(repr=False)
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def launch(self) -> None:
        """Start the process without waiting for it (the set starts all replicas, then waits for each)."""
        if self.running:
            raise RuntimeError(f"replica {self.name} is running already")
        # No file watcher: an edit to the work tree during a run must not re-import modules mid-test.
        command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                   "--server.port", str(self.port), "--server.address", "127.0.0.1",
                   "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
        self._process = _start(command, self.log, self.environment)

    def wait_until_healthy(self) -> None:
        if self._process is None:
            raise RuntimeError(f"replica {self.name} was never started")
        _wait_until_healthy(self.url, self._process, self.log)

    def start(self) -> None:
        """Start this replica (again, on its port) and wait until it answers /_stcore/health."""
        self.launch()
        self.wait_until_healthy()

    def stop(self) -> None:
        """Stop this replica alone; a no-op when it is not running."""
        if self._process is not None:
            stop_process(self._process)
            self._process = None


@dataclass(frozen=True)
class ReplicaSet:
    """nginx at `url` in front of `replicas`; `access_log` names the replica (upstream) that answered each request."""

    url: str
    replicas: list[Replica]
    localcloud_url: str
    access_log: Path
    root: Path


@contextmanager
def replica_set(root: Path, replicas: int = 2, database_url: str | None = None) -> Iterator[ReplicaSet]:
    """localcloud, nginx and `replicas` app replicas with their state under `root`; all stopped on exit."""
    if not 1 <= replicas <= 26:
        raise ValueError("between 1 and 26 replicas (named A to Z)")
    root.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        cloud_port, cloud_dir, cloud_log = free_port(), root / "localcloud", root / "localcloud.log"
        cloud = _start([sys.executable, "-m", "localcloud", "serve", "--port", str(cloud_port),
                        "--data-dir", str(cloud_dir)], cloud_log, _base_environment())
        stack.callback(stop_process, cloud)
        cloud_url = f"http://127.0.0.1:{cloud_port}"
        _wait_for_answer(f"{cloud_url}/_localcloud/health", cloud, cloud_log, "localcloud", status=200)
        exports = _localcloud_exports(cloud_port, cloud_dir)

        nginx_port, *ports = _distinct_free_ports(replicas + 1)
        prefix = root / "nginx"
        prefix.mkdir(exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(render_nginx_conf(NGINX_TEMPLATE.read_text(), nginx_port, ports))
        # As root nginx's workers would run as `nobody`, who cannot reach pytest's private temp dirs (where the
        # workers buffer large responses); a test's nginx may run them as root.
        directives = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
        nginx_command = [_nginx_binary(), "-e", "stderr", "-c", str(conf), "-p", str(prefix), "-g", directives]
        nginx_log = prefix / "nginx.log"
        checked = subprocess.run([*nginx_command, "-t"], capture_output=True, text=True, timeout=30, check=False)
        if checked.returncode != 0:
            pytest.fail(f"nginx -t refused the rendered {conf}:\n{checked.stderr}", pytrace=False)
        nginx = _start(nginx_command, nginx_log, _base_environment())
        stack.callback(stop_process, nginx)
        url = f"http://127.0.0.1:{nginx_port}"
        _wait_for_answer(f"{url}/_stcore/health", nginx, nginx_log, "nginx")  # 502 is an answer: no replica yet

        shared = {**_base_environment(), **exports,
                  "APP_SECRET_KEY": secrets.token_urlsafe(32),
                  "STREAMLIT_SERVER_COOKIE_SECRET": secrets.token_urlsafe(32),
                  "APP_REDIRECT_URI": url, "CONFIG_JSON": str(root / ".config.json"),
                  # Only so `.appstate/` lands at root/appdata/.appstate, shared by all replicas: the app uses
                  # the standalone localcloud above (LOCALCLOUD_URL), never one of its own.
                  "LOCALCLOUD_DATA_DIR": str(root / "appdata" / "lc"), "LOCALCLOUD_PORT": str(cloud_port)}
        if database_url is not None:
            shared["APP_DATABASE_URL"] = database_url
        members = [Replica(chr(ord("A") + index), port, root / f"replica-{chr(ord('A') + index)}.log",
                           {**shared, "APP_REPLICA_NAME": chr(ord("A") + index)})
                   for index, port in enumerate(ports)]
        for member in members:
            stack.callback(member.stop)
            member.launch()
        for member in members:
            member.wait_until_healthy()
        _wait_for_answer(f"{url}/_stcore/health", nginx, prefix / "error.log", "nginx", status=200)
        yield ReplicaSet(url, members, cloud_url, prefix / "access.log", root)
