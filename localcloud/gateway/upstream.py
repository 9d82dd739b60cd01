"""The HTTP-to-MCP half of a hosted MCP server: one tool call becomes one REST request upstream, and its answer a
tool result.

A tool builds its REST call from the arguments (the order service's `OrderTool.rest_call`: path arguments
substituted, query arguments in the query, body arguments as a JSON object). The request carries one credential,
the header the gateway injected (`passthroughAuthHeader`), and nothing else of the caller's.

A 2xx answer is the tool's result (an object as `structuredContent`, anything else under `result`); an error status
is an `isError` result carrying the upstream's message (FastAPI's `detail`); an upstream that cannot be reached, or
does not answer within `UPSTREAM_TIMEOUT`, is an `isError` result that says so. Answers are read up to
`MAX_ANSWER_BYTES`.
"""

from __future__ import annotations

import functools
import json
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

__all__ = ["MAX_ANSWER_BYTES", "UPSTREAM_TIMEOUT", "ArgumentError", "RestRequest", "ToolRoute", "UpstreamAnswer",
           "answer_of", "call_upstream", "plan_request"]

UPSTREAM_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
MAX_ANSWER_BYTES = 1024 * 1024


class RestRequest(Protocol):
    """One REST call as a tool describes it: method, path below the upstream's base, query, JSON body (or None)."""

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def query(self) -> dict[str, str]: ...
    @property
    def body(self) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class ToolRoute:
    """A tool of a hosted MCP server: what `tools/list` shows, and the REST call it makes for given arguments."""

    name: str
    description: str
    input_schema: dict[str, Any] = field(hash=False)
    rest_call: Callable[[dict[str, Any]], RestRequest] = field(hash=False, compare=False)
    path_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class UpstreamAnswer:
    """What a tool call returns: its text, its structured content, whether it failed, and the upstream status."""

    text: str
    structured: dict[str, Any] | None = None
    is_error: bool = False
    status: int | None = None  # None: no answer at all


class ArgumentError(ValueError):
    """Arguments a tool's REST call cannot be built from."""


def plan_request(route: ToolRoute, arguments: Mapping[str, Any] | None) -> RestRequest:
    """The REST request for a call of `route` with `arguments`. Each path argument must name one item (a non-empty
    string or number other than `.` and `..`, which would move the path); the upstream validates the rest (422)."""
    given = dict(arguments or {})
    for name in route.path_args:
        value = given.get(name)
        if isinstance(value, bool) or not isinstance(value, str | int) or str(value) in ("", ".", ".."):
            raise ArgumentError(f"the argument {name} must name one item (a non-empty string).")
    return route.rest_call(given)


def _detail(body: Any, fallback: str) -> str:
    detail = body.get("detail", body.get("message")) if isinstance(body, dict) else None
    if detail is None:
        return fallback
    return detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False)


def _parsed(content: bytes) -> Any:
    try:
        return json.loads(content) if content else None
    except ValueError:
        return content.decode("utf-8", "replace")


def answer_of(status: int, content: bytes) -> UpstreamAnswer:
    """A tool result for an upstream answer (pure)."""
    body = _parsed(content)
    if status >= 400:
        fallback = body if isinstance(body, str) and body else httpx.codes.get_reason_phrase(status)
        return UpstreamAnswer(f"The order service answered HTTP {status}: {_detail(body, fallback)}", None, True,
                              status)
    if body is None:
        return UpstreamAnswer(f"Done (HTTP {status}, no content).", None, False, status)
    structured = body if isinstance(body, dict) else {"result": body}
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    return UpstreamAnswer(text, structured, False, status)


async def _read_bounded(response: httpx.Response) -> bytes | None:
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@functools.cache
def _tls() -> ssl.SSLContext:
    """One verifying TLS context for every upstream call: building one per client (certifi's bundle) costs ~25 ms."""
    return httpx.create_ssl_context()


async def call_upstream(base_url: str, route: ToolRoute, arguments: Mapping[str, Any] | None,
                        credential: tuple[str, str] | None, *,
                        timeout: httpx.Timeout = UPSTREAM_TIMEOUT) -> UpstreamAnswer:
    """Call `route` at `base_url` with the injected `credential` header (name, value) and nothing of the caller's."""
    try:
        planned = plan_request(route, arguments)
    except ArgumentError as error:
        return UpstreamAnswer(f"Invalid arguments for {route.name}: {error}", None, True)
    headers = {"Accept": "application/json", **dict([credential] if credential else [])}
    try:
        async with httpx.AsyncClient(trust_env=False, timeout=timeout, follow_redirects=False,
                                     verify=_tls()) as client, \
                client.stream(planned.method, f"{base_url}{planned.path}", params=planned.query or None,
                              json=planned.body, headers=headers) as response:
            content = await _read_bounded(response)
    except httpx.TimeoutException:
        return UpstreamAnswer(f"The order service did not answer within {timeout.read or timeout.connect:g} s "
                              "(upstream timeout).", None, True)
    except httpx.HTTPError as error:
        return UpstreamAnswer(f"The order service could not be reached ({type(error).__name__}): the upstream is "
                              "unavailable.", None, True)
    if content is None:
        return UpstreamAnswer(f"The order service's answer is larger than {MAX_ANSWER_BYTES} bytes.", None, True,
                              response.status_code)
    return answer_of(response.status_code, content)
