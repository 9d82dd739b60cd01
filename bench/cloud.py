"""A fresh localcloud in its own process, so clients measured here never share a GIL with the server."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import localcloud
from bench.environment import REPO_ROOT, stop_process

__all__ = ["CloudProcess", "running_cloud"]

_START_TIMEOUT_SECONDS = 60.0
_SERVING = re.compile(r"serving on http://127\.0\.0\.1:(\d+)")


class CloudProcess:
    """`python -m localcloud` on a free port with its own data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.log = data_dir.parent / "localcloud.log"
        command = [sys.executable, "-m", "localcloud", "serve", "--port", "0", "--data-dir", str(data_dir)]
        with self.log.open("wb") as output:
            # A fixed argv of our own (no shell): this interpreter running localcloud.
            self.process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603
        self.port = self._wait_for_port()

    def _wait_for_port(self) -> int:
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            found = _SERVING.search(self.log.read_text(errors="replace"))
            if found:
                return int(found.group(1))
            if self.process.poll() is not None:
                raise RuntimeError(f"localcloud exited with {self.process.returncode}:\n{self.log.read_text()}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"localcloud did not start within {_START_TIMEOUT_SECONDS:.0f} s:\n{self.log.read_text()}")

    def handle(self) -> localcloud.LocalCloud:
        """The running server's handle (keys, env, request counts), read from its data directory."""
        return localcloud.start(port=self.port, data_dir=self.data_dir)

    def stop(self) -> None:
        stop_process(self.process, grace=15)


@contextmanager
def running_cloud(data_dir: Path) -> Iterator[CloudProcess]:
    """A localcloud process for the duration of the block."""
    cloud = CloudProcess(data_dir)
    try:
        yield cloud
    finally:
        cloud.stop()
