"""A weather API sold through Alibaba Cloud API Marketplace, authenticated the marketplace way: by AppCode.

`GET /svc/weather?city=<name>` with `Authorization: APPCODE <key>`. The key is valid when it equals the
`APIKey` of one of the account's API-key credential providers (the dashboard's provider holds it), so a key
fetched with GetResourceAPIKey works and any other does not. A missing or wrong key is 401 (as API Gateway
answers an invalid AppCode), in API Gateway's style (`X-Ca-Error-Code` / `X-Ca-Error-Message` headers plus a
JSON body). The forecast is the sample's simulation: "20 degrees and foggy" in San Francisco, "30 degrees
and sunny" anywhere else.
"""

from __future__ import annotations

import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from localcloud.resources.errors import BadRequest, Unauthorized
from localcloud.resources.web import Handler
from localcloud.services.agentidentity.records import API_KEY_PROVIDER
from localcloud.store import Store

__all__ = ["WEATHER_PATH", "forecast", "weather_handler"]

WEATHER_PATH = "/svc/weather"
_FOGGY_CITIES = ("sf", "san francisco")
_MAX_CITY = 128


def forecast(city: str) -> dict[str, Any]:
    """The sample's simulated weather for a city."""
    foggy = city.strip().lower() in _FOGGY_CITIES
    temperature, conditions = (20, "foggy") if foggy else (30, "sunny")
    return {"city": city.strip(), "temperature": temperature, "unit": "celsius", "conditions": conditions,
            "summary": f"{temperature} degrees and {conditions}"}


def _app_code(authorization: str | None) -> str:
    scheme, _, code = (authorization or "").strip().partition(" ")
    if scheme.upper() != "APPCODE" or not code.strip():
        raise Unauthorized("Unauthorized", "Empty AppCode: send the header Authorization: APPCODE <key>")
    return code.strip()


def _is_known_key(store: Store, key: str) -> bool:
    account = store.meta("account_id") or ""
    stored = [str(doc.get("APIKey") or "") for doc in store.list(API_KEY_PROVIDER.store_kind, account)]
    # Compare against every key, in constant time each, so timing says nothing about near misses.
    matches = [hmac.compare_digest(key.encode(), s.encode()) for s in stored if s]
    return any(matches)


def weather_handler(store: Store) -> Handler:
    """The `GET /svc/weather` handler bound to the store."""
    def handle(request: Request, body: bytes) -> Response:
        if not _is_known_key(store, _app_code(request.headers.get("authorization"))):
            raise Unauthorized("InvalidAppCode", "Invalid AppCode: it matches no API key of this account")
        city = request.query_params.get("city", "").strip()
        if not city or len(city) > _MAX_CITY:
            raise BadRequest("InvalidParameter.City", f"give the city as ?city=<name> (1 to {_MAX_CITY} characters)")
        return JSONResponse(forecast(city))
    return handle
