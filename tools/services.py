"""The sample's simple tools: weather (API key), schedule (STS), current time (OAuth2)."""

from __future__ import annotations

import json
import time
from typing import Annotated
from urllib.parse import urlencode

from tools.arguments import CITY, SCHEDULE_DATE, TIME_ZONE
from tools.base import CredentialSpec, ToolContext, tool
from tools.http import request_json, service_url
from tools.signing import sign_schedule_request

__all__ = ["MCP_SCOPES", "get_current_time", "get_schedule", "weather_search"]

MCP_SCOPES = ("profile", "openid", "aliuid", "/acs/mcp-server")  # the sample's, for get_current_time and MCP


@tool(CredentialSpec("api_key", "api_key_provider_name"))
def weather_search(context: ToolContext, city: Annotated[str, CITY]) -> str:
    """Get the current weather for a city."""
    url = service_url(context, "services_url", "/weather?" + urlencode({"city": city}))
    body = request_json(context, "GET", url, headers={"Authorization": f"APPCODE {context.credential.value}"})
    return json.dumps(body, ensure_ascii=False)


@tool(CredentialSpec("sts"))
def get_schedule(context: ToolContext, date: Annotated[str, SCHEDULE_DATE]) -> str:
    """Get the signed-in user's schedule for a date (YYYY-MM-DD)."""
    url = service_url(context, "services_url", "/schedule?" + urlencode({"date": date}))
    sts = context.credential
    headers = sign_schedule_request("GET", url, sts.access_key_id, sts.access_key_secret, sts.security_token,
                                    time.time())
    return json.dumps(request_json(context, "GET", url, headers=headers), ensure_ascii=False)


@tool(CredentialSpec("oauth2", "mcp_oauth_provider_name", MCP_SCOPES))
def get_current_time(context: ToolContext, timezone: Annotated[str, TIME_ZONE] = "Asia/Shanghai") -> str:
    """Get the current time in a time zone (IANA name, e.g. Asia/Shanghai)."""
    url = service_url(context, "services_url", "/time?" + urlencode({"timezone": timezone}))
    body = request_json(context, "GET", url, headers={"Authorization": f"Bearer {context.credential.value}"})
    return json.dumps(body, ensure_ascii=False)
