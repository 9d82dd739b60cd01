"""HTTP for tools: one timeout everywhere, and service errors turned into ToolError with the service's words."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from identity.tls import verified_tls
from tools.base import ToolContext
from tools.errors import InvalidArgument, ServiceFailed, ServiceNotConfigured

__all__ = ["path_segment", "request_json", "service_url"]


def service_url(context: ToolContext, name: str, path: str) -> str:
    """A URL on one of the tools' services (from the cloud target); ToolError when it is not configured."""
    base = context.endpoints.get(name)
    if not base:
        raise ServiceNotConfigured(f"the {name} service is not configured in this mode (see README, tool services)")
    return f"{base.rstrip('/')}{path}"


def path_segment(value: str) -> str:
    """`value` as exactly one URL path segment: everything outside RFC 3986's unreserved characters is
    percent-encoded (`/`, `?`, `#`, `%`, CR, LF…), and a `.` or `..` segment too, which clients resolve away."""
    if not value:
        raise InvalidArgument("an empty value cannot be a path segment")
    encoded = quote(value, safe="")
    return encoded.replace(".", "%2E") if set(value) == {"."} else encoded


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        code = body.get("code") or body.get("Code") or body.get("error") or ""
        message = body.get("message") or body.get("Message") or body.get("error_description") or ""
        return f"{code}: {message}".strip(": ")
    return str(body)[:200]


def request_json(context: ToolContext, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    """Call a service; its JSON answer, or ToolError with its status and error code/message."""
    try:
        response = httpx.request(method, url, timeout=context.timeout, trust_env=False, verify=verified_tls(),
                                  **kwargs)
    except httpx.HTTPError as exc:
        raise ServiceFailed(f"the service at {url.split('?')[0]} did not answer ({exc.__class__.__name__})") from None
    if response.status_code >= 400:
        raise ServiceFailed(f"the service refused the request ({response.status_code} {_error_text(response)})")
    try:
        body = response.json()
    except ValueError:
        raise ServiceFailed("the service answered something that is not JSON") from None
    return body if isinstance(body, dict) else {"result": body}
