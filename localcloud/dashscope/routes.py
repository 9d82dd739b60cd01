"""The HTTP side of the DashScope stand-in: the API key check, and the answer as JSON or as an SSE stream."""

from __future__ import annotations

import asyncio
import hmac
import uuid
from collections.abc import AsyncIterator, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from localcloud.dashscope.model import local_date, respond
from localcloud.dashscope.wire import full_response, parse_request, sse_events, stream_events
from localcloud.resources.errors import ResourceServiceError, Unauthorized
from localcloud.resources.web import Handler, endpoint, json_object
from localcloud.store import Store, random_token

__all__ = ["API_BASE_PATH", "GENERATION_PATH", "dashscope_key", "dashscope_routes"]

API_BASE_PATH = "/api/v1"  # what DASHSCOPE_HTTP_BASE_URL ends with
GENERATION_PATH = f"{API_BASE_PATH}/services/aigc/text-generation/generation"
_KEY_META = "dashscope.api_key"
# "sk-local-" and 24 letters or digits: never the sk-<32 hex> shape of a real DashScope key.
_KEY_PREFIX = "sk-local-"
_MAX_BODY = 4 * 1024 * 1024  # long conversations with tool results, not unbounded ones
# A pause between events so a chat UI visibly streams; short enough that tests do not notice.
_EVENT_DELAY_SECONDS = 0.01


def dashscope_key(store: Store) -> str:
    """The API key the stand-in accepts, created at first use and kept in the store's meta."""
    if store.meta(_KEY_META) is None:
        store.set_meta_once(_KEY_META, _KEY_PREFIX + random_token(24))
    return store.meta(_KEY_META) or ""


def _check_key(store: Store, authorization: str | None) -> None:
    scheme, _, key = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("InvalidApiKey", "No API-key provided.")
    if not hmac.compare_digest(key.strip().encode(), dashscope_key(store).encode()):
        raise Unauthorized("InvalidApiKey", "Invalid API-key provided.")


def _wants_stream(request: Request) -> bool:
    return (request.headers.get("x-dashscope-sse", "").lower() == "enable"
            or "text/event-stream" in request.headers.get("accept", ""))


async def _paced(frames: list[str]) -> AsyncIterator[str]:
    for number, frame in enumerate(frames):
        if number:
            await asyncio.sleep(_EVENT_DELAY_SECONDS)
        yield frame


def generation_handler(store: Store, clock: Callable[[], float]) -> Handler:
    """The `POST …/text-generation/generation` handler bound to the store and clock."""
    def handle(request: Request, body: bytes) -> Response:
        _check_key(store, request.headers.get("authorization"))  # before the body, like DashScope
        generation = parse_request(json_object(body))
        reply = respond(generation.messages, generation.tools, today=local_date(clock()), model=generation.model,
                        parallel=generation.parallel_tool_calls)
        request_id = str(uuid.uuid4())
        if not _wants_stream(request):
            return JSONResponse(full_response(generation, reply, request_id))
        frames = sse_events(stream_events(generation, reply, request_id))
        return StreamingResponse(_paced(frames), media_type="text/event-stream;charset=UTF-8",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    return handle


def dashscope_error(error: ResourceServiceError) -> JSONResponse:
    """DashScope's error document: `{"request_id", "code", "message"}`."""
    return JSONResponse({"request_id": str(uuid.uuid4()), "code": error.code, "message": error.message},
                        status_code=error.status, headers=error.headers)


def dashscope_routes(store: Store, clock: Callable[[], float]) -> list[BaseRoute]:
    """The native Generation API."""
    handler = endpoint(generation_handler(store, clock), dashscope_error, max_body=_MAX_BODY)
    return [Route(GENERATION_PATH, handler, methods=["POST"])]
