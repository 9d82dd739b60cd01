"""A cold start (issue 21, item 1): the server answers at once and builds the rest in the background; a page opened
before localcloud is up says "Starting the local cloud…" and carries on by itself, never an error.

The test holds the app database's migration lock (a lock file beside SQLite, which every starting process takes)
so the background start is reliably caught half-way, then lets it go."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Browsing, running_app
from tests.e2e.journey import TIMEOUT_MS, heading

pytestmark = pytest.mark.e2e

STARTING = "Starting the local cloud…"


def test_a_page_opened_while_the_local_cloud_starts_says_so_and_carries_on_by_itself(tmp_path: Path,
                                                                                    browsing: Browsing) -> None:
    state = tmp_path / ".appstate"
    state.mkdir(mode=0o700)
    lock = os.open(state / "app.sqlite3.lock", os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        with running_app(tmp_path) as server:  # it answers its health check although the start is held
            page = browsing.context("visitor").new_page()
            page.goto(server.url)
            expect(page.get_by_text(STARTING)).to_be_visible(timeout=TIMEOUT_MS)
            assert httpx.get(f"{server.url}/_stcore/health", trust_env=False, timeout=5).status_code == 200
            assert not (tmp_path / "lc" / "localcloud.sqlite3").exists()  # nothing of localcloud yet

            fcntl.flock(lock, fcntl.LOCK_UN)

            expect(heading(page, "Login")).to_be_visible(timeout=TIMEOUT_MS)  # no reload, no click
            expect(page.get_by_text(STARTING)).to_have_count(0)
            expect(page.get_by_test_id("stException")).to_have_count(0)
    finally:
        os.close(lock)
