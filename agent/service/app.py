"""The agent service's HTTP layer: `POST /process`, `POST /openai/v1/chat/completions`, `GET /health`.

Every failure is a JSON error with a status that says whose it is (4xx for the request, 503 while the service
cannot work yet); never a traceback. The runtime (settings, database, localcloud or Alibaba Cloud) is built when
the server starts; if that fails, `/health` says why and every other route answers 503 with the same reason.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from agent.errors import AgentError, LimitReached, SessionTaken
from agent.events import Event
from agent.runtime import AgentRuntime
from agent.service.agentscope import AgentScopeStream
from agent.service.callers import CallerRefused, verify_caller
from agent.service.openai_api import ChatCompletion, prompt_of
from agent.service.turns import SESSION_ID, new_session_id, stream_turn
from identity.broker.routes import authorize_link
from identity.errors import IdentityError
from identity.users import SignedInUser
from web.bodies import read_body

__all__ = ["MAX_BODY_BYTES", "SESSION_HEADER", "ServiceError", "create_app"]

_LOG = logging.getLogger(__name__)
MAX_BODY_BYTES = 256 * 1024  # a prompt is at most 8,000 characters; the rest is envelope
SESSION_HEADER = "X-app-custom-session-id"  # the sample's agentRun mode names the session so
_SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


class ServiceError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def _error(error: ServiceError) -> JSONResponse:
    return JSONResponse({"error": {"code": error.code, "message": error.message}}, error.status,
                        headers={"Cache-Control": "no-store", **error.headers})


class _Service:
    """The routes, around one runtime built at start (or the reason it could not be)."""

    def __init__(self, build: Callable[[], AgentRuntime]) -> None:
        self._build = build
        self.runtime: AgentRuntime | None = None
        self.failure = "starting"
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self.runtime is not None:
                return
            try:
                self.runtime = self._build()
                self.failure = ""
            except IdentityError as error:
                self.failure = str(error)
                _LOG.warning("The agent service cannot work yet: %s", error)

    def stop(self) -> None:
        if self.runtime is not None:
            self.runtime.close()

    def ready(self) -> AgentRuntime:
        if self.runtime is None:
            raise ServiceError(503, "unavailable", f"The agent service is not ready: {self.failure}")
        return self.runtime

    # -- requests ----------------------------------------------------------------------------------------------
    async def _json(self, request: Request) -> dict[str, Any]:
        body = await read_body(request, MAX_BODY_BYTES)
        if body is None:
            raise ServiceError(413, "payload_too_large", f"The request body is larger than {MAX_BODY_BYTES:,} bytes.")
        try:
            parsed = json.loads(body or b"null")
        except (UnicodeDecodeError, ValueError):
            raise ServiceError(400, "invalid_json", "The request body is not JSON.") from None
        if not isinstance(parsed, dict):
            raise ServiceError(400, "invalid_request", "The request body must be a JSON object.")
        return parsed

    async def _caller(self, runtime: AgentRuntime, request: Request, user_id: object = None) -> SignedInUser:
        try:
            return await anyio.to_thread.run_sync(verify_caller, runtime.settings, runtime.target.oauth_discovery_url,
                                                  request.headers.get("authorization"), user_id)
        except CallerRefused as refused:
            challenge = f'Bearer error="{refused.code}"' if refused.status == 401 else ""
            raise ServiceError(refused.status, refused.code, refused.message,
                               {"WWW-Authenticate": challenge} if challenge else None) from None

    async def _open_session(self, runtime: AgentRuntime, user: SignedInUser, session_id: str) -> None:
        """The session is the caller's own chat (created if new), decided before any event is sent."""
        try:
            await anyio.to_thread.run_sync(runtime.chats.open_session, user.key, session_id)
        except SessionTaken as error:
            raise ServiceError(403, "session_taken", str(error)) from None
        except LimitReached as error:
            raise ServiceError(429, "limit_reached", str(error)) from None
        except AgentError as error:  # the chat store is unavailable
            raise ServiceError(503, "unavailable", str(error)) from None

    def _link(self, runtime: AgentRuntime) -> Callable[[str], str]:
        return lambda state: authorize_link(runtime.settings.app_url, state)

    # -- POST /process ---------------------------------------------------------------------------------------
    async def process(self, request: Request) -> Response:
        runtime = self.ready()
        body = await self._json(request)
        user = await self._caller(runtime, request, body.get("user_id"))
        prompt, session_id = _process_prompt(body), _session(body.get("session_id"))
        await self._open_session(runtime, user, session_id)
        stream = AgentScopeStream(session_id, self._link(runtime), _own_tools())
        events = stream_turn(runtime, user, session_id, prompt)
        if body.get("stream", True) is False:
            return JSONResponse(await _last_response(stream, events), headers={"Cache-Control": "no-store"})
        return StreamingResponse(_sse(stream, events), media_type="text/event-stream", headers=_SSE_HEADERS)

    # -- POST /openai/v1/chat/completions ------------------------------------------------------------------------
    async def chat_completions(self, request: Request) -> Response:
        runtime = self.ready()
        body = await self._json(request)
        user = await self._caller(runtime, request)
        prompt = prompt_of(body)
        if not prompt:
            raise ServiceError(400, "invalid_request", "`messages` must end with a user message that has text.")
        session_id = _session(request.headers.get(SESSION_HEADER))
        await self._open_session(runtime, user, session_id)
        completion = ChatCompletion(str(body.get("model") or runtime.settings.dashscope_model_name),
                                    self._link(runtime))
        events = stream_turn(runtime, user, session_id, prompt)
        if body.get("stream"):
            return StreamingResponse(_openai_sse(completion, events), media_type="text/event-stream",
                                     headers=_SSE_HEADERS)
        async for event in events:
            completion.feed(event)
        if completion.error is not None:
            return JSONResponse({"error": completion.error}, 502, headers={"Cache-Control": "no-store"})
        return JSONResponse(completion.whole(), headers={"Cache-Control": "no-store"})

    # -- GET /health --------------------------------------------------------------------------------------------
    async def health(self, _request: Request) -> Response:
        if self.runtime is None:
            return JSONResponse({"status": "unhealthy", "reason": self.failure}, 503)
        settings, target = self.runtime.settings, self.runtime.target
        model = ("localcloud" if target.is_local and target.dashscope_base_url else
                 "dashscope" if target.dashscope_api_key else "not configured")
        return JSONResponse({"status": "healthy", "mode": settings.mode, "model": settings.dashscope_model_name,
                             "model_backend": model, "identity": "local" if target.is_local else "cloud",
                             "state": self.runtime.database.dialect,
                             "provisioned": bool(_provisioned(self.runtime))})


def _provisioned(runtime: AgentRuntime) -> str | None:
    try:
        return runtime.broker.workload()
    except IdentityError:
        return None


def _process_prompt(body: dict[str, Any]) -> str:
    """The text of the last user message of an AgentScope request's `input`."""
    messages = body.get("input")
    if not isinstance(messages, list) or not messages:
        raise ServiceError(400, "invalid_request", "`input` must be a list of messages.")
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role", "user") == "user":
            parts = message.get("content")
            if isinstance(parts, str):
                return parts
            texts = [p.get("text") for p in parts or [] if isinstance(p, dict) and p.get("type") == "text"]
            if text := "".join(t for t in texts if isinstance(t, str)):
                return text
    raise ServiceError(400, "invalid_request", "`input` has no user message with text.")


def _session(value: object) -> str:
    if value is None or value == "":
        return new_session_id()
    if not isinstance(value, str) or not SESSION_ID.fullmatch(value):
        raise ServiceError(400, "invalid_session", "`session_id` must be 1 to 64 letters, digits or `_ . : -`.")
    return value


def _own_tools() -> frozenset[str]:
    """The app's own tools (and the MCP connector); any other tool a turn calls is the MCP server's."""
    from agent.toolbox import CONNECTOR_NAME
    from tools import TOOLS

    return frozenset({CONNECTOR_NAME, *(tool.name for tool in TOOLS)})


async def _sse(stream: AgentScopeStream, events: AsyncIterator[Event]) -> AsyncIterator[str]:
    for item in stream.start():
        yield _data(item)
    async for event in events:
        for item in stream.feed(event):
            yield _data(item)


async def _last_response(stream: AgentScopeStream, events: AsyncIterator[Event]) -> dict[str, Any]:
    last: dict[str, Any] = {}
    for item in stream.start():
        last = item
    async for event in events:
        for item in stream.feed(event):
            if item.get("object") == "response":
                last = item
    return last


async def _openai_sse(completion: ChatCompletion, events: AsyncIterator[Event]) -> AsyncIterator[str]:
    async for event in events:
        for chunk in completion.feed(event):
            yield _data(chunk)
    yield "data: [DONE]\n\n"


def _data(item: dict[str, Any]) -> str:
    return f"data: {json.dumps(item, ensure_ascii=False)}\n\n"


def create_app(build: Callable[[], AgentRuntime]) -> Starlette:
    """The service around the runtime `build()` makes (at start, on a worker thread)."""
    service = _Service(build)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(service.start)
        yield
        await anyio.to_thread.run_sync(service.stop)

    def guarded(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except ServiceError as error:
                return _error(error)
        return endpoint

    routes = [Route("/process", guarded(service.process), methods=["POST"]),
              Route("/openai/v1/chat/completions", guarded(service.chat_completions), methods=["POST"]),
              Route("/health", service.health, methods=["GET"])]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.service = service
    return app
