"""`python -m identity.provision` from a shell: apply, plan and destroy against the built-in local cloud."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import repo_root


def test_cli_applies_plans_and_destroys_from_a_shell(tmp_path):
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith("ALIBABA_CLOUD")}
    env.update(LOCALCLOUD_PORT="0", PYTHONPATH=str(repo_root()))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "identity.provision", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)

    applied = run("apply")
    assert applied.returncode == 0, applied.stderr
    assert "built-in local cloud" in applied.stdout and "created" in applied.stdout
    assert (tmp_path / ".config.json").exists() and (tmp_path / ".localcloud").is_dir()
    planned = run("plan")
    assert planned.returncode == 0 and " create " not in planned.stdout
    destroyed = run("destroy")
    assert destroyed.returncode == 0 and "deleted" in destroyed.stdout
    assert not (tmp_path / ".config.json").exists()
    bad = subprocess.run([sys.executable, "-m", "identity.provision", "apply"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, env={**env, "APP_REDIRECT_URI": "localhost:8501"})
    assert bad.returncode == 2 and "APP_REDIRECT_URI" in bad.stderr and "Traceback" not in bad.stderr
