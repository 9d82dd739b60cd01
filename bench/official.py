"""The official `agent_identity_python_sdk` (0.1.6), used the way the sample uses it, against localcloud.

Its decorators build an `IdentityClient` for `*.aliyuncs.com` at decoration time and offer no endpoint
setting, so the client class in the decorators module is replaced before anything is decorated (WIRE.md §2).
Nothing in its code path is changed: polling, caching and call order are the SDK's own.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import agent_identity_python_sdk.core.decorators as deco
from agent_identity_python_sdk import AgentIdentityContext, requires_access_token, requires_api_key, requires_sts_token
from agent_identity_python_sdk.utils import cache as sdk_cache
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bench.world import World, user_of
from identity.users import SignedInUser

__all__ = ["SDK_STATE_PREFIX", "OfficialSdk"]

SDK_STATE_PREFIX = "sdk-"
_POLL_MESSAGE = "Polling for OAuth2 token"
_SDK_LOGGERS = ("agentidentity.core.decorators", "agentidentity.identity_client", "agentidentity.utils.config")


def _local_client_class(endpoint: str) -> type:
    """An IdentityClient whose default endpoints are localcloud's (scheme included, so it speaks HTTP)."""

    class LocalIdentityClient(deco.IdentityClient):
        def __init__(self, region_id: str, data_api_endpoint: str | None = None,
                     control_api_endpoint: str | None = None) -> None:
            super().__init__(region_id, data_api_endpoint or endpoint, control_api_endpoint or endpoint)

    return LocalIdentityClient


class PollClock(logging.Handler):
    """Keeps the time of each of the SDK's "Polling for OAuth2 token" log lines (one per unanswered poll)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.polls: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith(_POLL_MESSAGE):
            self.polls.append(time.perf_counter())


def _quiet_sdk_loggers(clock: PollClock) -> None:
    """The SDK logs every call at INFO to stderr: keep its lines out of the table, but time its polls."""
    for name in _SDK_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [clock]
        logger.propagate = False
        logger.setLevel(logging.INFO)


@contextmanager
def _in_directory(path: Path) -> Iterator[None]:
    """The SDK reads and writes `.config.json` in the working directory: give it a private one."""
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


class OfficialSdk:
    """The SDK's decorated tool functions for the provisioned workload, plus the sample's return route."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.workdir = world.workdir / "sdk-cwd"
        self.workdir.mkdir(exist_ok=True)
        self.clock = PollClock()
        _quiet_sdk_loggers(self.clock)
        # The workload the app provisioned, as the sample's agent finds it (env before .config.json).
        os.environ["AGENT_IDENTITY_WORKLOAD_IDENTITY_NAME"] = world.broker.workload()
        deco.IdentityClient = _local_client_class(world.cloud.url)
        self.client = deco.IdentityClient(deco.get_region())
        self.started: dict[str, tuple[str, str]] = {}  # consent state -> user key, as the sample's backend keeps
        self.held_at: dict[str, float] = {}
        self._consent_urls: list[Callable[[str], None]] = []
        self._decorate()
        world.server.sdk_handler = self._sample_return

    def _decorate(self) -> None:
        provider, scopes = self.world.mcp
        settings = self.world.settings
        self.api_key = requires_api_key(credential_provider_name=settings.api_key_provider_name)(_api_key_tool)
        self.sts = requires_sts_token()(_sts_tool)
        self.oauth2 = requires_access_token(
            credential_provider_name=provider, scopes=list(scopes), auth_flow="USER_FEDERATION",
            callback_url=settings.consent_return_url, poll_for_token=False)(_oauth2_tool)
        self.consenting = requires_access_token(
            credential_provider_name=provider, scopes=list(scopes), auth_flow="USER_FEDERATION",
            callback_url=settings.consent_return_url, force_authentication=True, poll_for_token=True,
            on_auth_url=self._on_auth_url)(self._consenting_tool)

    def _on_auth_url(self, url: str) -> None:
        for handler in self._consent_urls:
            handler(url)

    def _consenting_tool(self, *, access_token: str) -> str:
        """The tool body: runs once the SDK holds the token."""
        self.held_at[AgentIdentityContext.get_custom_state() or ""] = time.perf_counter()
        return access_token

    def call(self, tool: Callable[..., Any], user: SignedInUser, state: str = "") -> Any:
        """One decorated tool call for `user` (their ID token in the context, as the sample's agent sets it)."""
        with _in_directory(self.workdir):
            AgentIdentityContext.set_user_token(user.id_token)
            AgentIdentityContext.set_custom_state(state or f"{SDK_STATE_PREFIX}{time.perf_counter_ns()}")
            try:
                return tool()
            finally:
                AgentIdentityContext.clear()

    def consent_call(self, user: SignedInUser, state: str, on_auth_url: Callable[[str], None]) -> str:
        """A tool call that must get fresh consent: the SDK polls until the return route completes it."""
        self.started[state] = user.key
        self._consent_urls[:] = [on_auth_url]
        return self.call(self.consenting, user, state)

    @staticmethod
    def forget_cache() -> None:
        """Empty the SDK's process-wide STS cache (a fresh agent process)."""
        with sdk_cache._cache_lock:
            sdk_cache._sts_credential_cache.clear()

    async def _sample_return(self, request: Request) -> Response:
        """The sample backend's `/callback`: state must belong to the browser's login, then confirm_user_auth."""
        user, state = user_of(self.world, request), request.query_params.get("state", "")
        if user is None or self.started.get(state) != user.key:
            return HTMLResponse("state does not belong to this login", status_code=400)
        session_uri = request.query_params.get("session_uri", "")
        await run_in_threadpool(self.client.confirm_user_auth, session_uri, user_token=user.id_token)
        return HTMLResponse("Success")


def _api_key_tool(*, api_key: str) -> str:
    return api_key


def _sts_tool(*, sts_credential: Any) -> Any:
    return sts_credential


def _oauth2_tool(*, access_token: str) -> str:
    return access_token
