"""The thin HTTP layer every resource service shares: bounded bodies, errors rendered, store work off the loop."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from localcloud.resources.errors import BadRequest, PayloadTooLarge, ResourceServiceError
from web.bodies import read_body

__all__ = ["Handler", "endpoint", "json_object"]

Handler = Callable[[Request, bytes], Response]
Renderer = Callable[[ResourceServiceError], Response]


async def _read_body(request: Request, limit: int) -> bytes:
    body = await read_body(request, limit)  # stops reading: a huge body must not fill memory first
    if body is None:
        raise PayloadTooLarge("PayloadTooLarge", f"the request body is larger than {limit} bytes")
    return body


def endpoint(handler: Handler, render: Renderer, *, max_body: int = 0) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint that runs `handler` in the threadpool and renders its service errors."""
    async def run(request: Request) -> Response:
        try:
            body = await _read_body(request, max_body) if request.method == "POST" else b""
            # The store is SQLite behind a lock: keep it off the event loop, like the sign-in server does.
            return await run_in_threadpool(handler, request, body)
        except ResourceServiceError as error:
            return render(error)
    return run


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or BadRequest."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise BadRequest("InvalidParameter", "the request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise BadRequest("InvalidParameter", "the request body must be a JSON object")
    return value
