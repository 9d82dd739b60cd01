"""The resource services the agent's tools call, each guarded by the credential the sample gives its tool.

| route | credential |
|---|---|
| `/mcp/resourcecenter/mcp` (MCP, streamable HTTP) | Bearer access token, `aliyun` realm, scope `/acs/mcp-server` |
| `GET /svc/weather?city=` | `Authorization: APPCODE <key>`, a key of one of the account's API-key providers |
| `GET /svc/schedule?date=` | STS credentials, signed (see `schedule`) |
| `GET /svc/time?timezone=` | Bearer access token, `aliyun` realm, scope `/acs/mcp-server` |
| `POST /v2.0/doc/me/suites/documents/{id}/overwriteContent`, `GET …/content` | DingTalk token (`dingtalk` realm) |
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from localcloud.resources.center import MCP_ENDPOINT_PATH, MCP_METADATA_PATH, MCP_MOUNT, ResourceCenter
from localcloud.resources.current_time import TIME_HOST, TIME_PATH, time_handler
from localcloud.resources.dingtalk_docs import (
    DEMO_DOCUMENT_ID,
    DOCUMENT_CONTENT_PATH,
    MAX_CONTENT_CHARS,
    OVERWRITE_PATH,
    read_handler,
    write_handler,
)
from localcloud.resources.errors import ResourceServiceError, acs_error, dingtalk_error, gateway_error
from localcloud.resources.schedule import SCHEDULE_HOST, SCHEDULE_PATH, schedule_handler
from localcloud.resources.weather import WEATHER_PATH, weather_handler
from localcloud.resources.web import endpoint
from localcloud.store import Store
from localcloud.urls import LocalUrls

__all__ = ["DEMO_DOCUMENT_ID", "MCP_ENDPOINT_PATH", "SERVICES_PATH", "ResourceCenter", "resource_routes"]

SERVICES_PATH = "/svc"  # weather, schedule and time live under it: LOCALCLOUD_SERVICES_URL
# JSON escaping can take 6 bytes per character of content (\uXXXX), plus the envelope.
_MAX_DOCUMENT_BODY = MAX_CONTENT_CHARS * 6 + 4096


def _acs(host: str) -> Callable[[ResourceServiceError], Response]:
    return lambda error: acs_error(error, host)


def resource_routes(store: Store, clock: Callable[[], float], urls: Callable[[], LocalUrls],
                    center: ResourceCenter) -> list[BaseRoute]:
    """The MCP server's mount and metadata, the `/svc/…` services and DingTalk's document API."""
    return [
        Mount(MCP_MOUNT, app=center),
        # RFC 9728 puts the metadata at the origin's root, outside the mount; the MCP app serves it.
        Route(MCP_METADATA_PATH, center, methods=["GET", "OPTIONS"]),
        Route(WEATHER_PATH, endpoint(weather_handler(store), gateway_error), methods=["GET"]),
        Route(SCHEDULE_PATH, endpoint(schedule_handler(store, clock), _acs(SCHEDULE_HOST)), methods=["GET"]),
        Route(TIME_PATH, endpoint(time_handler(store, clock, urls), _acs(TIME_HOST)), methods=["GET"]),
        Route(OVERWRITE_PATH, endpoint(write_handler(store, clock, urls), dingtalk_error,
                                       max_body=_MAX_DOCUMENT_BODY), methods=["POST"]),
        Route(DOCUMENT_CONTENT_PATH, endpoint(read_handler(store, clock, urls), dingtalk_error), methods=["GET"]),
    ]
