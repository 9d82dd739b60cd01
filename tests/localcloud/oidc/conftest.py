"""Fixtures for the sign-in server tests: IMS applications per module and throwaway browsers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

import localcloud
from tests.localcloud.oidc.oidc_client import Apps, Browser, create_apps


@pytest.fixture(scope="module")
def apps(cloud: localcloud.LocalCloud) -> Apps:
    return create_apps(cloud)


@pytest.fixture
def new_browser(cloud: localcloud.LocalCloud) -> Iterator[Callable[..., Browser]]:
    """Open as many separate browsers as a test needs; all are closed afterwards."""
    opened: list[Browser] = []

    def open_browser(realm: str = "aliyun", target: localcloud.LocalCloud | None = None) -> Browser:
        opened.append(Browser(target or cloud, realm))
        return opened[-1]

    yield open_browser
    for browser in opened:
        browser.close()


@pytest.fixture
def browser(new_browser: Callable[..., Browser]) -> Browser:
    return new_browser()
