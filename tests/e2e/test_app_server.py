"""`streamlit run app.py` as users start it: the pages, and localcloud's browser pages under `/lc` on its origin."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import AppServer, running_app

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """One `streamlit run app.py` for this module (the shared starter from conftest)."""
    with running_app(tmp_path_factory.mktemp("streamlit")) as running:
        yield running


def _get(url: str) -> httpx.Response:
    return httpx.get(url, trust_env=False, timeout=15, follow_redirects=False)


def test_localcloud_starts_with_the_server_before_any_page_view(server: AppServer) -> None:
    # The lifespan starts the core in the background: localcloud's store appears although no page has been opened.
    deadline = time.monotonic() + 60
    while not (server.localcloud_dir / "localcloud.sqlite3").is_file() and time.monotonic() < deadline:
        time.sleep(0.1)

    assert (server.localcloud_dir / "localcloud.sqlite3").is_file()


def test_the_sign_in_buttons_files_are_served_before_any_page_ran(server: AppServer) -> None:
    # Behind a load balancer the Login page's component frame may be fetched from a replica that never ran a page
    # (no test in this module opens the websocket, so no script has run here).
    response = _get(f"{server.url}/component/streamlit_oauth.authorize_button/index.html")

    assert response.status_code == 200 and "<html" in response.text.lower()


def test_the_back_channel_is_not_served_on_the_apps_origin(server: AppServer) -> None:
    # The sign-in page is (the front channel); the discovery document, token and JWKS are not (the back channel).
    assert _get(f"{server.url}/lc/oauth/aliyun/.well-known/openid-configuration").status_code == 404
    assert httpx.post(f"{server.url}/lc/oauth/aliyun/token", trust_env=False, timeout=15).status_code == 404
    assert _get(f"{server.url}/lc/oauth/aliyun/authorize").status_code != 404

def test_the_login_page_refuses_an_unknown_client_with_a_page_not_a_crash(server: AppServer) -> None:
    response = _get(f"{server.url}/lc/oauth/aliyun/authorize?response_type=code&client_id=no-such-app"
                    "&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
                    "&code_challenge_method=S256&state=s")

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html") and "location" not in response.headers


@pytest.mark.parametrize(("method", "path"), [("POST", "/lc/"), ("GET", "/lc/_localcloud/health")])
def test_localclouds_rpc_front_and_control_routes_stay_private(server: AppServer, method: str, path: str) -> None:
    response = httpx.request(method, f"{server.url}{path}", trust_env=False, timeout=15)

    assert response.status_code == 404


def test_the_app_itself_is_served(server: AppServer) -> None:
    response = _get(f"{server.url}/")

    assert response.status_code == 200 and "<noscript>" in response.text.lower()


def test_consent_return_route_refuses_a_browser_that_is_not_signed_in(server: AppServer) -> None:
    response = _get(f"{server.url}/callback?state=anything&session_uri=urn:ietf:params:oauth:request_uri:x")
    assert response.status_code == 401 and "nothing was completed" in response.text.lower()


def test_consent_return_route_refuses_an_unknown_session_cookie(server: AppServer) -> None:
    response = httpx.get(f"{server.url}/callback?state=x", cookies={"aid_session": "forged"}, timeout=30,
                         trust_env=False)
    assert response.status_code == 401
