"""deploy/nginx.conf in front of two real replicas: ordinary requests spread over both and survive one dying, pages
hand out the `aid_replica` cookie once, and the websocket passes nginx, sticks to one replica by that cookie, and
opens on any replica with an XSRF token another replica issued (the shared cookie secret).

Which replica answered is read from nginx's access log (its `upstream=` field), not from the app.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.replicas.harness import ReplicaSet, replica_set

_ENTRY = re.compile(r'"(?P<method>\S+) (?P<path>\S+) [^"]*" (?P<status>\d{3}) \d+ upstream=(?P<upstream>.*?) '
                    r"replica_key=")


@pytest.fixture
def deployment(tmp_path: Path, postgres_url: str) -> Iterator[ReplicaSet]:
    with replica_set(tmp_path, replicas=2, database_url=postgres_url) as running:
        yield running


def _get(url: str, **headers: str) -> httpx.Response:
    return httpx.get(url, headers=headers, trust_env=False, timeout=15, follow_redirects=False)


def _log_size(deployment: ReplicaSet) -> int:
    return deployment.access_log.stat().st_size if deployment.access_log.exists() else 0


def _entries(deployment: ReplicaSet, since: int, path: str, count: int) -> list[dict[str, str]]:
    """The access log's entries for `path` written after byte `since`; waits (bounded) for `count` of them, since
    nginx logs a websocket only when it has closed."""
    deadline = time.monotonic() + 10
    while True:
        with deployment.access_log.open("rb") as log:
            log.seek(since)
            lines = log.read().decode(errors="replace").splitlines()
        found = [match.groupdict() for line in lines if (match := _ENTRY.search(line)) and match["path"] == path]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def _address(url: str) -> str:
    return url.removeprefix("http://")


def _open_websocket(deployment: ReplicaSet, xsrf: str, replica_key: str) -> None:
    """A websocket to /_stcore/stream through nginx as the app's page opens it: its Origin, the XSRF cookie and the
    same token as a subprotocol, plus the replica cookie. Raises if the handshake is refused."""
    headers = {"Origin": deployment.url, "Cookie": f"aid_replica={replica_key}; _streamlit_xsrf={xsrf}"}
    ws_url = deployment.url.replace("http://", "ws://") + "/_stcore/stream"
    with connect(ws_url, additional_headers=headers, subprotocols=["streamlit", xsrf], proxy=None,
                 open_timeout=15, close_timeout=5) as websocket:
        assert websocket.response is not None and websocket.response.status_code == 101


def test_the_app_answers_through_nginx(deployment):
    assert _get(f"{deployment.url}/_stcore/health").status_code == 200
    page = _get(f"{deployment.url}/")
    assert page.status_code == 200 and "<html" in page.text.lower()


def test_ordinary_requests_reach_every_replica(deployment):
    since = _log_size(deployment)

    statuses = [_get(f"{deployment.url}/_stcore/health").status_code for _ in range(10)]

    assert statuses == [200] * 10
    answered_by = [entry["upstream"] for entry in _entries(deployment, since, "/_stcore/health", 10)]
    assert set(answered_by) == {_address(replica.url) for replica in deployment.replicas}


def test_requests_go_to_the_other_replica_while_one_is_down(deployment):
    first, second = deployment.replicas
    first.stop()
    since = _log_size(deployment)

    statuses = [_get(f"{deployment.url}{path}").status_code for path in ["/_stcore/health", "/"] * 4]

    assert statuses == [200] * 8
    # each request ended on the live replica (a retried one names the dead replica first, then the live one)
    finals = [entry["upstream"].split(", ")[-1] for entry in _entries(deployment, since, "/_stcore/health", 4)]
    assert set(finals) == {_address(second.url)}

    first.start()
    assert _get(f"{first.url}/_stcore/health").status_code == 200
    assert _get(f"{deployment.url}/_stcore/health").status_code == 200


def test_the_first_page_sets_the_replica_cookie_and_a_browser_that_has_it_gets_no_new_one(deployment):
    first = _get(f"{deployment.url}/")
    cookie = next((value for value in first.headers.get_list("set-cookie") if value.startswith("aid_replica=")), "")

    assert re.fullmatch(r"aid_replica=[0-9a-f]{32}; Path=/; HttpOnly; SameSite=Lax", cookie), cookie
    again = _get(f"{deployment.url}/", Cookie=cookie.split(";", 1)[0])
    assert again.status_code == 200
    assert not any(value.startswith("aid_replica=") for value in again.headers.get_list("set-cookie"))
    # not on non-page answers either: the cookie is handed out with the page the browser lands on
    health = _get(f"{deployment.url}/_stcore/health")
    assert not any(value.startswith("aid_replica=") for value in health.headers.get_list("set-cookie"))


def test_the_websocket_passes_nginx_and_sticks_to_one_replica_by_its_cookie(deployment):
    xsrf = _get(f"{deployment.url}/_stcore/health").cookies["_streamlit_xsrf"]
    since = _log_size(deployment)

    for _ in range(3):
        _open_websocket(deployment, xsrf, replica_key="x")

    entries = _entries(deployment, since, "/_stcore/stream", 3)
    assert [entry["status"] for entry in entries] == ["101"] * 3
    assert len({entry["upstream"] for entry in entries}) == 1  # the same replica every time


def test_a_websocket_opens_on_a_replica_with_the_xsrf_token_another_one_issued(deployment):
    # Tokens from each replica directly, each used through nginx with the same replica cookie: whichever replica
    # takes the websocket, one token came from the other, so both opening shows the cookie secret is shared.
    tokens = [_get(f"{replica.url}/_stcore/health").cookies["_streamlit_xsrf"] for replica in deployment.replicas]
    since = _log_size(deployment)

    for token in tokens:
        _open_websocket(deployment, token, replica_key="y")

    assert [entry["status"] for entry in _entries(deployment, since, "/_stcore/stream", 2)] == ["101", "101"]
