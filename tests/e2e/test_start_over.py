"""Starting over (issue 21, item 2): `.config.json` outlives the local cloud it was written for. After a restart
on a fresh `.localcloud/`, every page says so in one line with a link to Setup, Login offers no sign-in popup that
could only say "Unknown application", and Provision repairs it."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Browsing, running_app
from tests.e2e.journey import MAIN, SIGN_IN_FRAME, TIMEOUT_MS, heading, open_app, open_page, provision

pytestmark = pytest.mark.e2e

WRITTEN_FOR = re.compile(r"\.config\.json was written for account (\d+); this local cloud is account (\d+)\.")


def test_a_config_written_for_a_deleted_local_cloud_is_named_on_every_page_and_provision_repairs_it(
        tmp_path: Path, browsing: Browsing) -> None:
    with running_app(tmp_path) as server:
        provision(open_app(browsing.context("owner"), server.url))
    first_account = json.loads((tmp_path / ".config.json").read_text())["account_id"]
    shutil.rmtree(tmp_path / "lc")  # start afresh, as a new user would

    with running_app(tmp_path) as server:
        page = open_app(browsing.context("visitor"), server.url)
        warning = page.locator(MAIN).get_by_text(WRITTEN_FOR)
        expect(warning).to_be_visible(timeout=TIMEOUT_MS)
        recorded, actual = WRITTEN_FOR.search(warning.inner_text()).groups()
        assert recorded == first_account and actual != first_account
        expect(page.locator(SIGN_IN_FRAME)).to_have_count(0)  # no popup that cannot work
        expect(page.locator(MAIN).get_by_role("link", name="Open Setup")).to_be_visible()

        for title in ("Chat", "Credentials", "Setup"):  # every page says it, signed in or not
            open_page(page, title)
            expect(page.locator(MAIN).get_by_text(WRITTEN_FOR)).to_be_visible(timeout=TIMEOUT_MS)

        counts, _ = provision(page)  # no administrator can sign in with it, so the repair is open to the visitor
        assert counts.get("created", 0) > 0
        open_page(page, "Login")
        expect(page.locator(MAIN).get_by_text(WRITTEN_FOR)).to_have_count(0)
        expect(page.locator(SIGN_IN_FRAME)).to_be_visible(timeout=TIMEOUT_MS)
        expect(heading(page, "Login")).to_be_visible()
