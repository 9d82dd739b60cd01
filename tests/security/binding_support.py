"""Helpers for the security suite's consent, redirect and least-privilege tests: start, approve and inspect consents
through the real broker, localcloud's real pages and the app's real `/callback` route (the `BrokerApp` of the
broker tests); serve routes over real HTTP; and record what a service receives, with a reverse proxy in front of it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import unquote

import httpx
import pytest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from identity.broker import ConsentRequired, PendingConsent
from identity.users import SignedInUser
from lab.browser import Browser
from tests.identity.broker.test_broker import MCP, BrokerApp, authorize
from tests.support import served
from tools.documents import DINGTALK_SCOPES

__all__ = ["DINGTALK", "MCP", "Recorded", "RecordingProxy", "approve", "calls_since", "refusals",
           "served_routes", "start_consent"]

DINGTALK = ("test-provider-for-dingtalk", DINGTALK_SCOPES)


def start_consent(broker_app: BrokerApp, user: SignedInUser, need: tuple[str, tuple[str, ...]] = MCP) -> PendingConsent:
    """The pending consent the broker records when `user` first needs this OAuth2 credential."""
    with pytest.raises(ConsentRequired) as raised:
        broker_app.broker.oauth2_token(user, *need)
    return raised.value.consent


def approve(broker_app: BrokerApp, browser: Browser, consent: PendingConsent, username: str) -> str:
    """`username` presses Authorize in `browser` (the app's route binds the consent to it, if `username` owns it)
    and approves at the provider: the return URL (not yet requested), carrying `state` and `session_uri`."""
    start = authorize(broker_app, browser, consent.state)
    if not start.is_redirect:  # the app refused: this user reaches the provider only with the raw link
        start = browser.get(consent.authorization_url)
    return browser.sign_in_and_decide(start, username, "demo", "approve", f"{broker_app.url}/callback")


def refusals(broker_app: BrokerApp, username: str) -> list[str]:
    """The refused consent returns in this user's activity log, newest first."""
    return [a.detail for a in broker_app.broker.log.of(broker_app.users[username].key) if a.outcome == "refused"]


def calls_since(broker_app: BrokerApp, before: dict[str, int]) -> dict[str, int]:
    """The RPC actions localcloud answered since `before` (a `request_counts()` snapshot)."""
    after = broker_app.cloud.request_counts()
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


@contextmanager
def served_routes(routes: list[BaseRoute]) -> Iterator[str]:
    """`routes` served by uvicorn on a free 127.0.0.1 port (tests.support.served), as the app serves them; yields
    the base URL. A streamed answer still open at the end gets two seconds to finish."""
    with served(Starlette(routes=routes), timeout_graceful_shutdown=2) as port:
        yield f"http://127.0.0.1:{port}"


@dataclass(frozen=True)
class Recorded:
    """One request as a service received it: everything a credential could travel in."""

    method: str
    target: str               # path and raw query
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def carries(self, needle: str) -> bool:
        text = "\n".join([self.target, unquote(self.target), *(f"{k}: {v}" for k, v in self.headers),
                          self.body.decode("latin-1")])
        return needle in text


class RecordingProxy:
    """A reverse proxy on 127.0.0.1 that records every request, then forwards it to `upstream` unchanged (Host
    header included, so signatures over it still verify) and streams the answer back. Point a tool's service URL
    at it to see exactly what the service receives."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()

    def routes(self) -> list[BaseRoute]:
        return [Route("/{path:path}", self._forward, methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"])]

    async def _forward(self, request: Request) -> Response:
        body = await request.body()
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        with self._lock:
            self.requests.append(Recorded(request.method, target, tuple(request.headers.items()), body))
        client = httpx.AsyncClient(trust_env=False, timeout=30)
        upstream = client.build_request(request.method, self.upstream + target, content=body,
                                        headers=[(k, v) for k, v in request.headers.raw])
        answer = await client.send(upstream, stream=True)
        headers = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}

        async def close() -> None:
            await answer.aclose()
            await client.aclose()

        return StreamingResponse(answer.aiter_raw(), status_code=answer.status_code, headers=headers,
                                 background=BackgroundTask(close))


_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "keep-alive"}
