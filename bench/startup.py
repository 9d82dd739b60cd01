"""Benchmark 5: `streamlit run app.py` start-up and memory, as ratios to a one-line Streamlit app.

Each launch is timed from `Popen` to `/_stcore/health` answering, to the page shell (`GET /`) being served, to
the first script run finishing (a websocket session asking for the default page, as a browser does) and to the
page being ready (the first run that no longer says "Starting the local cloud…": the sign-in button is there).
Peak memory is the whole process tree's resident set, sampled from /proc while it runs, at the first page and at
the ready page. Then the heaviest imports of each stage, so the next regression names itself.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.typing import Origin, Subprotocol

from bench.environment import BASE_ENVIRON, REPO_ROOT, free_port, stop_process
from bench.plan import Plan
from bench.results import Results
from bench.stats import ratio

__all__ = ["STARTUP", "Launch", "run"]

STARTUP = "startup"
_TIMEOUT_SECONDS = 120.0
_ONE_LINER = 'import streamlit as st\nst.write("hello")\n'


@dataclass(frozen=True)
class Launch:
    """One server start: seconds to each milestone, and the tree's peak RSS in MiB."""

    health: float
    shell: float
    first_run: float
    ready: float
    peak_mib: float       # at the first page
    ready_peak_mib: float


def _tree(root: int) -> list[int]:
    """`root` and every descendant still alive, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(children.get(pid, []))
    return found


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemoryWatch:
    """Samples the tree's total RSS every 50 ms; the peak also counts each process's own high-water mark."""

    def __init__(self, root: int) -> None:
        self.root, self.peak_kib, self._stop = root, 0, threading.Event()
        self.samples: list[tuple[float, int]] = []  # (perf_counter, KiB)
        self._thread = threading.Thread(target=self._sample, name="bench-rss", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            kib = sum(_status_kib(p, "VmRSS") for p in _tree(self.root))
            self.samples.append((time.perf_counter(), kib))
            self.peak_kib = max(self.peak_kib, kib)

    def peak_at(self, moment: float) -> float:
        """Peak MiB sampled up to `moment` (waiting for it to pass)."""
        time.sleep(max(0.0, moment - time.perf_counter()))
        return max((kib for when, kib in list(self.samples) if when <= moment), default=0) / 1024

    def stop(self) -> float:
        """Peak MiB; stop sampling."""
        high_water = sum(_status_kib(p, "VmHWM") for p in _tree(self.root))
        self._stop.set()
        self._thread.join(timeout=5)
        return max(self.peak_kib, high_water) / 1024


def _wait(url: str, process: subprocess.Popen[bytes], started: float) -> float:
    """Seconds from launch until `url` answers 200."""
    while time.perf_counter() - started < _TIMEOUT_SECONDS:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode} before {url} answered")
        try:
            if httpx.get(url, trust_env=False, timeout=5).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {_TIMEOUT_SECONDS:.0f} s")


_STARTING = b"Starting the local cloud"


async def _first_script_run(port: int, started: float) -> tuple[float, float]:
    """Open a session as the browser does (its origin, and the XSRF token the health check hands it, which the app
    requires); seconds until the default page's first script run finishes, and until a run finishes that no longer
    says the local cloud is starting (the page then reruns by itself)."""
    request = BackMsg()
    request.rerun_script.query_string = ""
    request.rerun_script.page_script_hash = ""
    origin = Origin(f"http://127.0.0.1:{port}")
    xsrf = httpx.get(f"{origin}/_stcore/health", trust_env=False, timeout=5).cookies.get("_streamlit_xsrf") or ""
    async with websockets.connect(f"ws://127.0.0.1:{port}/_stcore/stream",
                                  subprotocols=[Subprotocol("streamlit"), Subprotocol(xsrf)],
                                  origin=origin, additional_headers={"Cookie": f"_streamlit_xsrf={xsrf}"},
                                  max_size=None, proxy=None) as socket:
        await socket.send(request.SerializeToString())
        first_run, starting, page_hash = None, False, ""
        while True:
            raw = await asyncio.wait_for(socket.recv(), _TIMEOUT_SECONDS)
            raw = raw if isinstance(raw, bytes) else raw.encode()
            message = ForwardMsg()
            message.ParseFromString(raw)
            kind = message.WhichOneof("type")
            if kind == "new_session":
                starting, page_hash = False, message.new_session.page_script_hash
            elif kind == "auto_rerun":  # a fragment's `run_every`: the browser asks for its reruns, so do we
                asyncio.get_running_loop().create_task(_auto_rerun(socket, message.auto_rerun, page_hash))
            starting = starting or _STARTING in raw
            if kind == "script_finished" and message.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                first_run = first_run or time.perf_counter() - started
                if not starting:
                    return first_run, time.perf_counter() - started
            elif kind == "script_finished" and message.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                raise RuntimeError(f"a script run ended with status {message.script_finished}")


async def _auto_rerun(socket: Any, auto_rerun: Any, page_hash: str) -> None:
    """Rerun the fragment every `interval` seconds, as the browser does, until the session ends."""
    request = BackMsg()
    request.rerun_script.page_script_hash = page_hash
    request.rerun_script.fragment_id = auto_rerun.fragment_id
    request.rerun_script.is_auto_rerun = True
    while True:
        await asyncio.sleep(auto_rerun.interval)
        try:
            await socket.send(request.SerializeToString())
        except websockets.ConnectionClosed:
            return


def _environment(port: int, workdir: Path) -> dict[str, str]:
    env = dict(BASE_ENVIRON)
    env.update({"APP_REDIRECT_URI": f"http://127.0.0.1:{port}", "AGENT_IDENTITY_MODE": "local",
                "LOCALCLOUD_PORT": "0", "LOCALCLOUD_DATA_DIR": str(workdir / "lc"),
                "CONFIG_JSON": str(workdir / ".config.json")})
    return env


def launch(script: Path, workdir: Path) -> Launch:
    """Start `streamlit run script` headless on a free port with a fresh data directory; stop it after."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    workdir.mkdir(parents=True, exist_ok=True)
    with (workdir / "streamlit.log").open("wb") as log:
        started = time.perf_counter()
        # A fixed argv of our own (no shell): this interpreter running Streamlit on a script we chose.
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=_environment(port, workdir),  # noqa: S603
                                   stdout=log, stderr=subprocess.STDOUT)
    watch = MemoryWatch(process.pid)
    try:
        health = _wait(f"{url}/_stcore/health", process, started)
        shell = _wait(f"{url}/", process, started)
        first_run, ready = asyncio.run(_first_script_run(port, started))
        first_peak = watch.peak_at(started + first_run + 0.3)  # the first page, settled
        time.sleep(0.3)  # let the memory sampler see the settled process after the ready page
        return Launch(health, shell, first_run, ready, first_peak, watch.stop())
    finally:
        watch.stop()
        stop_process(process)


_FIGURES = (("to /_stcore/health", "health", "s"), ("to page shell (GET /)", "shell", "s"),
            ("to first script run", "first_run", "s"), ("to page ready (sign-in button)", "ready", "s"),
            ("peak RSS of process tree at first page", "peak_mib", "MiB"),
            ("peak RSS of process tree at ready page", "ready_peak_mib", "MiB"))
# What each stage imports: `streamlit run` importing app.py (before the health check answers), and the core with
# the Login page (the settings, the database, localcloud, sign-in). Streamlit itself is loaded in both baselines.
_STAGES = {
    "server start (import app)": "import streamlit, app",
    "sign-in page (core, Login)": "import app, ui.chrome, ui.signin, identity.store.database, localcloud.server",
}
_HEAVIEST = 5


def heaviest_imports(code: str, already: str = "import streamlit") -> list[tuple[str, float]]:
    """The packages `code` imports beyond what `already` did, heaviest first, as (name, cumulative ms): each
    package's own import, with what it pulled in (so a package inside another counts in both)."""
    loaded = _package_times(already)
    found = [(name, ms) for name, ms in _package_times(f"{already}\n{code}").items()
             if name not in loaded and name != "app"]
    return sorted(found, key=lambda item: -item[1])[:_HEAVIEST]


def _package_times(code: str) -> dict[str, float]:
    """`python -X importtime -c code`: every top-level package's cumulative import time in ms."""
    # A fixed argv of our own (no shell): this interpreter, the stdlib's import profiler.
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code], cwd=REPO_ROOT,  # noqa: S603
                          env=dict(BASE_ENVIRON), capture_output=True, text=True, timeout=_TIMEOUT_SECONDS, check=True)
    times: dict[str, float] = {}
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit() and "." not in parts[2].strip():
            times.setdefault(parts[2].strip(), int(parts[1]) / 1000)
    return times


def _imports(results: Results) -> None:
    for stage, code in _STAGES.items():
        for name, ms in heaviest_imports(code):
            results.add(STARTUP, f"  heaviest imports, {stage}: {name}", ms, "ms")


def _one_run(results: Results, workdir: Path, index: int) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    baseline_script = workdir / "one_line_app.py"
    baseline_script.write_text(_ONE_LINER)
    pair = [("app", REPO_ROOT / "app.py"), ("one-line", baseline_script)]
    # Alternate which goes first, so neither always starts on a warmer page cache.
    order = pair if index % 2 == 0 else pair[::-1]
    launches = {name: launch(script, workdir / f"{name}-{index}") for name, script in order}
    app, base = launches["app"], launches["one-line"]
    for label, key, unit in _FIGURES:
        mine, theirs = getattr(app, key), getattr(base, key)
        results.add(STARTUP, f"app.py: {label}", mine, unit)
        results.add(STARTUP, f"one-line app: {label}", theirs, unit)
        results.add(STARTUP, f"  ratio app / one-line, {label.removeprefix('to ')}", ratio(mine, theirs), "x")


def run(plan: Plan, results: Results, workdir: Path) -> None:
    """Every run of benchmark 5."""
    results.section(STARTUP, "5. Start-up and memory: streamlit run app.py vs a one-line app")
    for index in range(plan.repeat):
        _one_run(results, workdir / "startup", index)
    _imports(results)
