"""Starting localcloud: in-process and idempotent, standalone with `python -m localcloud`, state on disk."""

from __future__ import annotations

import asyncio
import os
import shlex
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

import localcloud
from localcloud.server import _bind
from localcloud.settings import LocalCloudSettings
from localcloud.store import DB_NAME
from tests.conftest import repo_root
from tests.support import free_port

PY = sys.executable


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith("ALIBABA_CLOUD")}
    env.update(extra)
    return env


def _wait_healthy(port: int, process: subprocess.Popen, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"localcloud exited early: {process.stderr.read() if process.stderr else ''}")
        try:
            return httpx.get(f"http://127.0.0.1:{port}/_localcloud/health", timeout=1, trust_env=False).json()
        except httpx.HTTPError:
            time.sleep(0.05)
    raise AssertionError(f"localcloud did not answer on port {port} within {timeout} s")


@contextmanager
def standalone(port: int, data_dir: Path, printed: list[str] | None = None) -> Iterator[subprocess.Popen]:
    """`python -m localcloud --port P --data-dir D` in a child process; what it printed lands in `printed`."""
    process = subprocess.Popen([PY, "-m", "localcloud", "--port", str(port), "--data-dir", str(data_dir)],
                               cwd=repo_root(), env=_clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        _wait_healthy(port, process)
        yield process
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
        if printed is not None:
            printed.append(out)


def _env_exports(port: int, data_dir: Path) -> dict[str, str]:
    done = subprocess.run([PY, "-m", "localcloud", "env", "--port", str(port), "--data-dir", str(data_dir)],
                          cwd=repo_root(), env=_clean_env(), capture_output=True, text=True, timeout=60, check=True)
    exports = {}
    for line in done.stdout.splitlines():
        assert line.startswith("export ")
        name, _, value = line.removeprefix("export ").partition("=")
        exports[name] = shlex.split(value)[0]
    return exports


def test_second_start_in_the_same_process_is_reused(cloud):
    again = localcloud.start(port=0, data_dir=cloud.data_dir)
    assert again is cloud


def test_start_reuses_a_localcloud_already_listening_on_the_port(tmp_path):
    port = free_port()
    with standalone(port, tmp_path / "shared"):
        handle = localcloud.start(port=port, data_dir=tmp_path / "shared")
        assert handle.reused and handle.port == port
        assert handle.access_key_id == _env_exports(port, tmp_path / "shared")["ALIBABA_CLOUD_ACCESS_KEY_ID"]


def test_start_refuses_a_port_held_by_a_localcloud_of_another_data_dir(tmp_path):
    port = free_port()
    with standalone(port, tmp_path / "one"), pytest.raises(localcloud.LocalCloudError, match="data directory"):
        localcloud.start(port=port, data_dir=tmp_path / "two")


def test_start_on_a_busy_port_says_what_to_do(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(localcloud.LocalCloudError, match="--port"):
            localcloud.start(port=busy.getsockname()[1], data_dir=tmp_path / "d")


def test_state_files_are_private(cloud):
    assert stat.S_IMODE(cloud.data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((cloud.data_dir / DB_NAME).stat().st_mode) == 0o600


def test_standalone_prints_urls_and_env_gives_a_working_environment(tmp_path):
    port, data_dir, printed = free_port(), tmp_path / "cli", []
    with standalone(port, data_dir, printed) as process:
        exports = _env_exports(port, data_dir)
        assert exports["AGENT_IDENTITY_CONTROL_ENDPOINT"] == f"http://127.0.0.1:{port}"
        assert exports["AGENT_IDENTITY_DATA_ENDPOINT"] == f"http://127.0.0.1:{port}"
        # The official default credential chain, configured only by these variables, reaches localcloud.
        script = ("import os\nfrom alibabacloud_tea_openapi.models import Config\n"
                  "from alibabacloud_credentials.client import Client as Credentials\n"
                  "from alibabacloud_sts20150401.client import Client\n"
                  "endpoint = os.environ['STS_ENDPOINT']\n"
                  "print(Client(Config(credential=Credentials(), endpoint=endpoint)).get_caller_identity()"
                  ".body.account_id)\n")
        done = subprocess.run([PY, "-c", script], env=_clean_env(**exports), capture_output=True, text=True,
                              timeout=60, cwd=repo_root())
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == _wait_healthy(port, process)["account_id"]
    out = printed[0]
    assert f"http://127.0.0.1:{port}" in out and exports["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] not in out


def test_resources_and_keys_survive_a_restart(tmp_path):
    from alibabacloud_ram20150501 import models as ram_models
    from alibabacloud_ram20150501.client import Client as RamClient
    from alibabacloud_tea_openapi.models import Config

    port, data_dir = free_port(), tmp_path / "persist"
    document = '{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject","Resource":"*"}]}'
    with standalone(port, data_dir):
        exports = _env_exports(port, data_dir)
        config = Config(access_key_id=exports["ALIBABA_CLOUD_ACCESS_KEY_ID"], endpoint=f"127.0.0.1:{port}",
                        access_key_secret=exports["ALIBABA_CLOUD_ACCESS_KEY_SECRET"], protocol="http")
        RamClient(config).create_policy(ram_models.CreatePolicyRequest(policy_name="kept", policy_document=document))
    with standalone(port, data_dir):
        assert _env_exports(port, data_dir) == exports
        got = RamClient(config).get_policy(ram_models.GetPolicyRequest(policy_name="kept", policy_type="Custom"))
        assert got.body.default_policy_version.policy_document == document


@pytest.mark.parametrize(("args", "env", "message"), [
    (["--port", "70000"], {}, "out of range"),
    ([], {"LOCALCLOUD_PORT": "eighty"}, "LOCALCLOUD_PORT"),
    (["env", "--port", "0"], {}, "fixed port"),
])
def test_cli_rejects_bad_settings_with_a_clear_message(tmp_path, args, env, message):
    done = subprocess.run([PY, "-m", "localcloud", *args, "--data-dir", str(tmp_path / "d")], cwd=repo_root(),
                          env=_clean_env(**env), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_accepted_connections_have_nagle_turned_off(tmp_path):
    # asyncio turns on TCP_NODELAY only for sockets created as IPPROTO_TCP; without it each keep-alive
    # response waited ~40 ms for a delayed ACK.
    listener = _bind(LocalCloudSettings.resolve(0, tmp_path))
    port = listener.getsockname()[1]

    async def accepted_nodelay() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            value = await asyncio.wait_for(seen, 10)
            writer.close()
            return value

    assert asyncio.run(accepted_nodelay()) != 0
