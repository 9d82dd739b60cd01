"""A throwaway PostgreSQL server for tests: Debian's PostgreSQL binaries, a fresh cluster on a free port.

The cluster listens on 127.0.0.1 only, trusts every local connection (it holds nothing but test data) and runs with
fsync off (a crash loses nothing worth keeping). PostgreSQL refuses to run as root, so as root initdb and pg_ctl run
as the `postgres` OS user, in a directory that user owns. Missing binaries FAIL the test with the command that
installs them: a skip would let CI go green without a single database test.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.support import free_port

__all__ = ["PostgresServer", "find_bin_dir", "installed_bin_dir", "postgres_cluster"]

_DEBIAN_GLOB = "/usr/lib/postgresql/*/bin"
_OS_USER = "postgres"       # the account Debian's package creates; also the cluster's superuser name
_START_TIMEOUT_SECONDS = 60  # pg_ctl's own -t: it gives up (and fails the test) instead of waiting forever
_STOP_TIMEOUT_SECONDS = 30
_COMMAND_TIMEOUT_SECONDS = 120  # initdb on a loaded CI machine
_INSTALL_HINT = "apt-get update && apt-get install -y postgresql"


@dataclass(frozen=True)
class PostgresServer:
    """A running test cluster: connect as the `postgres` superuser, no password, over TCP on 127.0.0.1."""

    host: str
    port: int

    def url(self, database: str) -> str:
        """The SQLAlchemy URL (psycopg 3 driver) of one database on this server."""
        return f"postgresql+psycopg://{_OS_USER}@{self.host}:{self.port}/{database}"

    def conninfo(self, database: str = "postgres") -> str:
        """The libpq connection string psycopg takes directly."""
        return f"host={self.host} port={self.port} user={_OS_USER} dbname={database} connect_timeout=10"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL (CREATE DATABASE cannot run inside a transaction)."""
        with psycopg.connect(self.conninfo(), autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database even while something still holds connections to it (PostgreSQL 13+)."""
        with psycopg.connect(self.conninfo(), autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _version(bin_dir: Path) -> tuple[int, ...]:
    """`/usr/lib/postgresql/15/bin` -> (15,): a numeric sort, so 10 outranks 9."""
    return tuple(int(part) for part in re.findall(r"\d+", bin_dir.parent.name)) or (0,)


def installed_bin_dir() -> Path | None:
    """The directory holding initdb and pg_ctl: Debian's highest installed version, else whatever PATH has; None
    when PostgreSQL is not installed."""
    candidates = sorted((Path(path) for path in glob.glob(_DEBIAN_GLOB)), key=_version, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for directory in candidates:
        if all(os.access(directory / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            return directory
    return None


def find_bin_dir() -> Path:
    """`installed_bin_dir()`, or the calling test fails (never skips) saying how to install PostgreSQL."""
    found = installed_bin_dir()
    if found is not None:
        return found
    pytest.fail(f"These tests need a PostgreSQL server (initdb, pg_ctl) and none is installed. Install it with "
                f"`{_INSTALL_HINT}` (.ci/run does this), then run the tests again.", pytrace=False)


def _as_cluster_owner(command: list[str]) -> list[str]:
    """As root, the same command run as the `postgres` OS user (PostgreSQL will not run as root)."""
    return ["runuser", "-u", _OS_USER, "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str], log: Path, timeout: float = _COMMAND_TIMEOUT_SECONDS) -> None:
    """Run a cluster tool; on failure the test fails with its output and the server log's tail."""
    try:
        result = subprocess.run(_as_cluster_owner(command), capture_output=True, text=True, timeout=timeout,
                                check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{Path(command[0]).name} did not finish within {timeout:.0f} s{_tail(log)}", pytrace=False)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited with {result.returncode}:\n{result.stdout}{result.stderr}"
                    f"{_tail(log)}", pytrace=False)


def _tail(log: Path, lines: int = 40) -> str:
    if not log.is_file():
        return ""
    return "\nserver log (tail):\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def _cluster_home(directory: Path) -> Iterator[Path]:
    """Where the cluster lives. As root: a fresh directory in the system temp dir owned by `postgres`, because
    pytest's own temp dirs are private to root and `postgres` could not even reach them; removed on exit, after
    its server log is copied to `directory`. Otherwise: `directory` itself."""
    if os.geteuid() != 0:
        yield directory
        return
    try:
        owner = pwd.getpwnam(_OS_USER)
    except KeyError:
        pytest.fail(f"Running as root, the tests start PostgreSQL as the `{_OS_USER}` OS user, which does not exist. "
                    f"Install PostgreSQL with `{_INSTALL_HINT}` (that creates it).", pytrace=False)
    home = Path(tempfile.mkdtemp(prefix="pg-test-"))
    try:
        os.chown(home, owner.pw_uid, owner.pw_gid)
        yield home
    finally:
        if (home / "server.log").is_file():
            shutil.copyfile(home / "server.log", directory / "server.log")
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def postgres_cluster(directory: Path) -> Iterator[PostgresServer]:
    """A new PostgreSQL cluster on a free port of 127.0.0.1, running until the block ends (stopped in any case)."""
    bin_dir = find_bin_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with _cluster_home(directory) as home:
        data, sockets, log = home / "data", home / "sock", home / "server.log"
        _run([str(bin_dir / "initdb"), "-D", str(data), "-U", _OS_USER, "--auth=trust", "--encoding=UTF8",
              "--locale=C", "--no-sync"], log)
        _run(["mkdir", "-p", str(sockets)], log)  # as the cluster owner, so the server may create its socket there
        port = free_port()
        # The settings go into the cluster's own file rather than onto a command line: nothing to quote.
        settings = {"listen_addresses": "'127.0.0.1'", "port": str(port), "unix_socket_directories": f"'{sockets}'",
                    "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "200"}
        with (data / "postgresql.conf").open("a") as conf:
            conf.write("".join(f"{name} = {value}\n" for name, value in settings.items()))
        pg_ctl = str(bin_dir / "pg_ctl")
        try:
            _run([pg_ctl, "start", "-D", str(data), "-l", str(log), "-w", "-t", str(_START_TIMEOUT_SECONDS)], log,
                 timeout=_START_TIMEOUT_SECONDS + 15)
            yield PostgresServer("127.0.0.1", port)
        finally:
            # Always, even when start failed half-way (a server may be up without pg_ctl having seen it).
            subprocess.run(_as_cluster_owner([pg_ctl, "stop", "-D", str(data), "-m", "fast", "-w",
                                              "-t", str(_STOP_TIMEOUT_SECONDS)]),
                           capture_output=True, timeout=_STOP_TIMEOUT_SECONDS + 15, check=False)
