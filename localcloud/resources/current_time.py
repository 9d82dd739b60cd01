"""A time service behind Alibaba Cloud OAuth: the sample's get_current_time, made to check its token.

`GET /svc/time?timezone=<IANA name>` (default `UTC`) with `Authorization: Bearer <access token>`: a live
access token of localcloud's `aliyun` realm with the `/acs/mcp-server` scope (the sample fetches it from
the MCP OAuth provider). No or an invalid token is 401 and a token without the scope 403, both with an
RFC 6750 `WWW-Authenticate` header and an Alibaba Cloud OpenAPI JSON body; an unknown zone is 400.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from localcloud.resources.errors import BadRequest, Forbidden, Unauthorized
from localcloud.resources.tokens import MCP_SCOPE, bearer_token, realm_token_claims, scopes_of
from localcloud.resources.web import Handler
from localcloud.store import Store
from localcloud.urls import LocalUrls

__all__ = ["TIME_HOST", "TIME_PATH", "time_handler", "time_in"]

TIME_PATH = "/svc/time"
TIME_HOST = "time.localcloud"


@cache
def _zones() -> frozenset[str]:
    # Looked up in the installed list rather than by opening a path built from the caller's input.
    return frozenset(available_timezones())


def time_in(zone_name: str, now: float) -> dict[str, Any]:
    """The time `now` in an IANA zone; BadRequest for a zone that does not exist."""
    if zone_name not in _zones():
        raise BadRequest("InvalidParameter.Timezone", f"unknown time zone {zone_name[:64]!r}: use an IANA name "
                         "such as Asia/Shanghai or UTC")
    moment = datetime.fromtimestamp(now, tz=ZoneInfo(zone_name)).replace(microsecond=0)
    return {"timezone": zone_name, "time": moment.isoformat(),
            "utc": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "utc_offset": moment.strftime("%z")}


def _challenge(error: str, description: str) -> dict[str, str]:
    return {"WWW-Authenticate": f'Bearer realm="{TIME_HOST}", error="{error}", error_description="{description}"'}


def _check_token(store: Store, urls: LocalUrls, authorization: str | None, now: float) -> None:
    token = bearer_token(authorization)
    claims = realm_token_claims(store, urls, "aliyun", token, now) if token else None
    if claims is None:
        why = "the access token is not valid, or has expired or been revoked" if token else "no bearer token"
        raise Unauthorized("InvalidAccessToken", f"send Authorization: Bearer <access token>: {why}",
                           headers=_challenge("invalid_token", why))
    if MCP_SCOPE not in scopes_of(claims):
        raise Forbidden("InsufficientScope", f"the access token lacks the scope {MCP_SCOPE}",
                        headers=_challenge("insufficient_scope", f"Required scope: {MCP_SCOPE}"))


def time_handler(store: Store, clock: Callable[[], float], urls: Callable[[], LocalUrls]) -> Handler:
    """The `GET /svc/time` handler bound to the store, clock and URLs."""
    def handle(request: Request, body: bytes) -> Response:
        now = clock()
        _check_token(store, urls(), request.headers.get("authorization"), now)
        return JSONResponse(time_in(request.query_params.get("timezone") or "UTC", now))
    return handle
