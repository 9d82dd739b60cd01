"""Browser-test fixtures: `streamlit run app.py` as users start it, Debian's Chromium through Playwright, one browser
context per user, and a screenshot of every open page when a test fails.

Chromium is never downloaded (`playwright install` cannot reach its hosts): the tests drive `/usr/bin/chromium`,
which `.ci/run` installs with apt. When it is missing the tests FAIL with the command that fixes it; a skip would
let CI go green without a single browser test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from bench.environment import stop_process
from identity.cloud import PROXY_VARIABLES
from tests.conftest import repo_root
from tests.support import free_port

CHROMIUM = Path("/usr/bin/chromium")
# Chromium's own background traffic (updates, sync, QUIC probes) is refused on this machine and would only add noise.
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync")
VIEWPORT = {"width": 1280, "height": 860}
ARTIFACTS = repo_root() / "test-artifacts" / "e2e"
START_TIMEOUT_SECONDS = 60.0
EXPECT_TIMEOUT_MS = 15_000  # default for every Playwright wait in a context: nothing waits unbounded
_PROXIES = PROXY_VARIABLES
# A developer's own cloud keys or a running localcloud must not leak into the server under test.
_FOREIGN = ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "LOCALCLOUD_URL", "LOCALCLOUD_PUBLIC_URL",
            "DASHSCOPE_API_KEY")


# -- the browser binary --------------------------------------------------------------------------------------------
def require_chromium(path: Path = CHROMIUM) -> Path:
    """The system Chromium; when it is missing the calling test fails (never skips) and says how to install it."""
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"Browser tests need Debian's Chromium at {path}, and it is missing. Install it with "
                    "`apt-get update && apt-get install -y chromium` (.ci/run does this), then run the tests again. "
                    "Do not run `playwright install`: its downloads fail here.", pytrace=False)
    return path


# -- the Streamlit server -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AppServer:
    """A running `streamlit run app.py` and the state it keeps on disk."""

    url: str
    localcloud_dir: Path
    config_json: Path
    log: Path


def _server_environment(port: int, root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _PROXIES + _FOREIGN}
    env.update({"APP_REDIRECT_URI": f"http://127.0.0.1:{port}", "AGENT_IDENTITY_MODE": "local",
                "LOCALCLOUD_PORT": "0", "LOCALCLOUD_DATA_DIR": str(root / "lc"),
                "CONFIG_JSON": str(root / ".config.json")})
    return env


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll `/_stcore/health` until it answers, the server dies, or START_TIMEOUT_SECONDS pass."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"streamlit exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/_stcore/health", trust_env=False, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)  # a poll interval, not a wait for the app: the deadline bounds it
    pytest.fail(f"streamlit did not answer /_stcore/health within {START_TIMEOUT_SECONDS:.0f} s:\n{log.read_text()}")


@contextmanager
def running_app(root: Path) -> Iterator[AppServer]:
    """`streamlit run app.py` from the repository on a free port, with its state under `root`; stopped on exit."""
    port = free_port()
    server = AppServer(f"http://127.0.0.1:{port}", root / "lc", root / ".config.json", root / "streamlit.log")
    # No file watcher: an edit to the work tree during a run would make Streamlit re-import changed modules,
    # and classes that change identity mid-test (an `except CloudError` missing its own error) fail at random.
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none"]
    with server.log.open("wb") as output:
        process = subprocess.Popen(command, cwd=repo_root(), env=_server_environment(port, root),
                                   stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_until_healthy(server.url, process, server.log)
        yield server
    finally:
        stop_process(process)


@pytest.fixture
def app_server(tmp_path: Path) -> Iterator[AppServer]:
    """A fresh app per test: its own localcloud data directory and `.config.json`, nothing provisioned."""
    with running_app(tmp_path) as server:
        yield server


# -- the browser ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless; each launch gets a fresh temporary profile from Playwright.

    Per module, not per session: Playwright's event loop then ends before tests of other folders run theirs.
    """
    executable = require_chromium()
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)  # its own default (5 s) is tight for a loaded CI machine
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(executable), headless=True, args=list(CHROMIUM_ARGS))
        try:
            yield launched
        finally:
            launched.close()


def artifact_dir(test_name: str) -> Path:
    """`test-artifacts/e2e/<test>/` (git-ignored): screenshots and the server log of one test."""
    return ARTIFACTS / re.sub(r"[^\w.-]+", "_", test_name).strip("_")


class Browsing:
    """The browser contexts one test opened, one per user, so a failure can show every page of each."""

    def __init__(self, browser: Browser, artifacts: Path) -> None:
        self._browser = browser
        self.artifacts = artifacts
        self._contexts: dict[str, BrowserContext] = {}

    def context(self, user: str) -> BrowserContext:
        """A new, cookie-less browser context for `user` (a separate browser, as far as the app can tell)."""
        if user in self._contexts:
            raise ValueError(f"a context for {user!r} is open already")
        context = self._browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
        context.set_default_timeout(EXPECT_TIMEOUT_MS)
        context.set_default_navigation_timeout(EXPECT_TIMEOUT_MS)
        self._contexts[user] = context
        return context

    def pages(self) -> list[tuple[str, Page]]:
        """Every open page (tabs and popups included), named after its context."""
        return [(user, page) for user, context in self._contexts.items() for page in context.pages
                if not page.is_closed()]

    def save(self, page: Page, name: str) -> Path:
        """One page's screenshot in this test's artifact folder."""
        path = self.artifacts / name
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True, timeout=EXPECT_TIMEOUT_MS)
        return path

    def write(self, name: str, text: str) -> Path:
        """A text file in this test's artifact folder (e.g. the journey's step timings)."""
        path = self.artifacts / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def save_all(self) -> list[Path]:
        """A screenshot of every open page; a page that cannot be captured any more is skipped, not fatal."""
        saved = []
        for index, (user, page) in enumerate(self.pages(), start=1):
            slug = re.sub(r"[^\w]+", "-", page.url.split("://", 1)[-1].split("?", 1)[0])[-60:].strip("-")
            try:
                saved.append(self.save(page, f"failure-{index:02d}-{user}-{slug}.png"))
            except PlaywrightError:
                continue
        return saved

    def close(self) -> None:
        for context in self._contexts.values():
            context.close()
        self._contexts.clear()


@pytest.fixture
def browsing(chromium: Browser, request: pytest.FixtureRequest) -> Iterator[Browsing]:
    """Per-user browser contexts for one test; its artifact folder starts empty."""
    folder = artifact_dir(request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    session = Browsing(chromium, folder)
    try:
        yield session
    finally:
        session.close()


# -- evidence on failure -----------------------------------------------------------------------------------------
def _save_evidence(item: pytest.Item) -> str | None:
    """Screenshots of every page and the server log, while the failed test's fixtures are still alive."""
    session = item.funcargs.get("browsing") if hasattr(item, "funcargs") else None
    if not isinstance(session, Browsing):
        return None
    shots = session.save_all()
    server = item.funcargs.get("app_server")
    if isinstance(server, AppServer) and server.log.is_file():
        session.artifacts.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(server.log, session.artifacts / "streamlit.log")
    names = "".join(f"\n  {shot.name}" for shot in shots) or "\n  (no page was open)"
    return f"Screenshots of every open page and the server log are in {session.artifacts}:{names}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """On a failed test, save what the browser showed and name the folder in the failure report."""
    report: pytest.TestReport = yield
    if report.when == "call" and report.failed:
        message = _save_evidence(item)
        if message:
            report.sections.append(("e2e artifacts", message))
            terminal = item.config.pluginmanager.get_plugin("terminalreporter")
            if terminal is not None:  # printed at once as well: the report comes only at the end of the run
                terminal.write_line(f"\n{message}")
    return report
