"""`streamlit run app.py` as users start it: the pages, and localcloud's browser pages under `/lc` on its origin."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import repo_root

pytestmark = pytest.mark.e2e

START_TIMEOUT_SECONDS = 60.0
_PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")
_FOREIGN = ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "LOCALCLOUD_URL", "LOCALCLOUD_PUBLIC_URL")


@dataclass(frozen=True)
class Server:
    url: str
    data_dir: Path
    log: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _environment(port: int, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _PROXIES + _FOREIGN}
    env.update({"APP_REDIRECT_URI": f"http://127.0.0.1:{port}", "AGENT_IDENTITY_MODE": "local",
                "LOCALCLOUD_PORT": "0", "LOCALCLOUD_DATA_DIR": str(tmp_path / "lc"),
                "CONFIG_JSON": str(tmp_path / ".config.json")})
    return env


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll `/_stcore/health` until it answers, the server dies, or the time is up."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"streamlit exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/_stcore/health", trust_env=False, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"streamlit did not answer /_stcore/health within {START_TIMEOUT_SECONDS:.0f} s:\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`streamlit run app.py` on a free port, as its own process; stopped after the module."""
    tmp_path, port = tmp_path_factory.mktemp("streamlit"), _free_port()
    url, log = f"http://127.0.0.1:{port}", tmp_path / "streamlit.log"
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=repo_root(), env=_environment(port, tmp_path),
                                   stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_until_healthy(url, process, log)
        yield Server(url, tmp_path / "lc", log)
    finally:
        _stop(process)


def _get(url: str) -> httpx.Response:
    return httpx.get(url, trust_env=False, timeout=15, follow_redirects=False)


def test_localcloud_starts_with_the_server_before_any_page_view(server: Server) -> None:
    # The lifespan built the runtime: localcloud's store exists although no page has been opened.
    assert (server.data_dir / "localcloud.sqlite3").is_file()


def test_the_discovery_document_is_served_on_the_apps_origin(server: Server) -> None:
    response = _get(f"{server.url}/lc/oauth/aliyun/.well-known/openid-configuration")

    assert response.status_code == 200
    assert response.json()["issuer"].startswith(f"{server.url}/lc")
    assert response.json()["authorization_endpoint"] == f"{server.url}/lc/oauth/aliyun/authorize"


def test_the_login_page_refuses_an_unknown_client_with_a_page_not_a_crash(server: Server) -> None:
    response = _get(f"{server.url}/lc/oauth/aliyun/authorize?response_type=code&client_id=no-such-app"
                    "&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
                    "&code_challenge_method=S256&state=s")

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html") and "location" not in response.headers


@pytest.mark.parametrize(("method", "path"), [("POST", "/lc/"), ("GET", "/lc/_localcloud/health")])
def test_localclouds_rpc_front_and_control_routes_stay_private(server: Server, method: str, path: str) -> None:
    response = httpx.request(method, f"{server.url}{path}", trust_env=False, timeout=15)

    assert response.status_code == 404


def test_the_app_itself_is_served(server: Server) -> None:
    response = _get(f"{server.url}/")

    assert response.status_code == 200 and "<noscript>" in response.text.lower()


def test_consent_return_route_refuses_a_browser_that_is_not_signed_in(server: Server) -> None:
    response = _get(f"{server.url}/callback?state=anything&session_uri=urn:ietf:params:oauth:request_uri:x")
    assert response.status_code == 401 and "nothing was completed" in response.text.lower()


def test_consent_return_route_refuses_an_unknown_session_cookie(server: Server) -> None:
    response = httpx.get(f"{server.url}/callback?state=x", cookies={"aid_session": "forged"}, timeout=30,
                         trust_env=False)
    assert response.status_code == 401
