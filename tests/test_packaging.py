"""`pip wheel .` builds the agent service as the sample deploys its agent: a wheel whose console script starts it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx

from bench.environment import stop_process
from identity.cloud import PROXY_VARIABLES
from tests.conftest import repo_root
from tests.support import free_port

_PROXIES = PROXY_VARIABLES


def test_the_wheel_installs_a_console_script_that_serves_the_agent(tmp_path: Path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(tmp_path / "dist"), "."], cwd=repo_root(), check=True, timeout=300,
                   env={k: v for k, v in os.environ.items() if k not in _PROXIES})
    [wheel] = (tmp_path / "dist").glob("agent_identity_dashboard-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "identity/store/migrations/versions/0001_state_store.py" in names  # the schema travels with the code
    # Installed beside this interpreter's packages (the wheel's own dependencies are the same pins).
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(tmp_path / "venv")], check=True,
                   timeout=120)
    python = tmp_path / "venv" / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], check=True, timeout=300)
    port, work = free_port(), tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in _PROXIES and not k.startswith(("ALIBABA_CLOUD", "APP_"))}
    env.update({"AGENT_SERVICE_PORT": str(port), "LOCALCLOUD_PORT": "0", "LOCALCLOUD_DATA_DIR": str(work / "lc"),
                "CONFIG_JSON": str(work / ".config.json"), "PYTHONPATH": ""})
    log = tmp_path / "service.log"
    with log.open("wb") as output:
        process = subprocess.Popen([str(tmp_path / "venv" / "bin" / "agent-identity-service")], cwd=work, env=env,
                                   stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline, health = time.monotonic() + 60, None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", trust_env=False, timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert health is not None and health.json()["status"] == "healthy", log.read_text()
    finally:
        stop_process(process)
