"""Lifetimes, on a localcloud whose clock the tests move: codes (60 s), pending sign-ins, access tokens."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

import localcloud
from tests.localcloud.oidc.oidc_client import (
    WEB_REDIRECT,
    Apps,
    Browser,
    create_apps,
    exchange,
    post_form,
    refresh,
    request_id_of,
    userinfo,
)


class MovableClock:
    """time.time plus an offset the test sets; nothing sleeps."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture(scope="module")
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture(scope="module")
def clocked_cloud(tmp_path_factory: pytest.TempPathFactory, clock: MovableClock) -> localcloud.LocalCloud:
    return localcloud.start(port=0, data_dir=tmp_path_factory.mktemp("clocked"), clock=clock)


@pytest.fixture(scope="module")
def clocked_apps(clocked_cloud: localcloud.LocalCloud) -> Apps:
    return create_apps(clocked_cloud)


@pytest.fixture
def at_start(clock: MovableClock) -> Iterator[MovableClock]:
    clock.offset = 0.0
    yield clock
    clock.offset = 0.0


@pytest.fixture
def user_agent(new_browser: Callable[..., Browser], clocked_cloud: localcloud.LocalCloud) -> Browser:
    return new_browser(target=clocked_cloud)


@pytest.mark.parametrize("seconds, accepted", [(59, True), (61, False)])
def test_a_code_is_valid_for_60_seconds(clocked_cloud: localcloud.LocalCloud, clocked_apps: Apps,
                                        at_start: MovableClock, user_agent: Browser, seconds: int,
                                        accepted: bool) -> None:
    sign_in = user_agent.sign_in(clocked_apps.web, WEB_REDIRECT)

    at_start.offset = seconds
    response = exchange(clocked_cloud, sign_in)

    assert (response.status_code == 200) is accepted
    if not accepted:
        assert response.json()["error"] == "invalid_grant" and "expired" in response.json()["error_description"]


def test_an_access_token_expires_after_the_apps_validity(clocked_cloud: localcloud.LocalCloud, clocked_apps: Apps,
                                                         at_start: MovableClock, user_agent: Browser) -> None:
    tokens = exchange(clocked_cloud, user_agent.sign_in(clocked_apps.web, WEB_REDIRECT)).json()

    at_start.offset = tokens["expires_in"] + 60
    info = userinfo(clocked_cloud, tokens["access_token"])
    introspection = post_form(clocked_cloud, "aliyun", "introspect", {"token": tokens["access_token"]},
                              auth=(clocked_apps.web, clocked_apps.web_secret)).json()

    assert info.status_code == 401 and introspection == {"active": False}
    assert refresh(clocked_cloud, clocked_apps.web, tokens["refresh_token"]).status_code == 200


def test_a_refresh_token_expires_after_the_apps_refresh_validity(clocked_cloud: localcloud.LocalCloud,
                                                                 clocked_apps: Apps, at_start: MovableClock,
                                                                 user_agent: Browser) -> None:
    tokens = exchange(clocked_cloud, user_agent.sign_in(clocked_apps.web, WEB_REDIRECT)).json()

    at_start.offset = 7776000 + 1  # a WebApp's default RefreshTokenValidity: 90 days
    response = refresh(clocked_cloud, clocked_apps.web, tokens["refresh_token"])

    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_a_pending_sign_in_expires_with_a_clear_page(clocked_apps: Apps, at_start: MovableClock,
                                                     user_agent: Browser) -> None:
    request_id = request_id_of(user_agent.authorize(clocked_apps.web, WEB_REDIRECT))

    at_start.offset = 11 * 60
    page = user_agent.login(request_id, "alice", "demo")

    assert page.status_code == 400 and "Sign-in request expired" in page.text


def test_the_sign_in_session_ends_so_the_password_is_asked_again(clocked_apps: Apps, at_start: MovableClock,
                                                                 user_agent: Browser) -> None:
    user_agent.sign_in(clocked_apps.web, WEB_REDIRECT)

    at_start.offset = 9 * 3600
    page = user_agent.authorize(clocked_apps.web, WEB_REDIRECT)

    assert 'name="password"' in page.text
