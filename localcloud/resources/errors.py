"""Errors of the resource services, each answered in the JSON shape of the real service it stands in for.

Tree::

    ResourceServiceError      root: an HTTP status, a wire code and a message
    ├── BadRequest            400  the request itself is malformed (a parameter, the body)
    ├── Unauthorized          401  no credential, or one that is unknown, forged, expired or revoked
    ├── Forbidden             403  a valid credential that may not do this (e.g. a missing scope)
    ├── NotFound              404  the addressed document or resource does not exist
    └── PayloadTooLarge       413  the body is larger than the service accepts

Three renderings: Alibaba Cloud OpenAPI (`{"RequestId", "Code", "Message", "HostId", "Recommend"}`),
API Gateway (the same facts in `X-Ca-Error-*` headers plus a JSON body) and DingTalk
(`{"code", "message", "requestid"}`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from starlette.responses import JSONResponse

__all__ = [
    "BadRequest",
    "Forbidden",
    "NotFound",
    "PayloadTooLarge",
    "ResourceServiceError",
    "Unauthorized",
    "acs_error",
    "dingtalk_error",
    "gateway_error",
    "request_id",
]


class ResourceServiceError(Exception):
    """An error a resource service answers; `headers` adds e.g. `WWW-Authenticate`."""

    status: int = 500

    def __init__(self, code: str, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


class BadRequest(ResourceServiceError):
    status = 400


class Unauthorized(ResourceServiceError):
    status = 401


class Forbidden(ResourceServiceError):
    status = 403


class NotFound(ResourceServiceError):
    status = 404


class PayloadTooLarge(ResourceServiceError):
    status = 413


def request_id() -> str:
    """A request id in the upper-case UUID form Alibaba Cloud and DingTalk answer with."""
    return str(uuid.uuid4()).upper()


def acs_error(error: ResourceServiceError, host: str) -> JSONResponse:
    """The Alibaba Cloud OpenAPI error document."""
    body = {"RequestId": request_id(), "Code": error.code, "Message": error.message, "HostId": host,
            "Recommend": f"Check the request against the API reference of {host}."}
    return JSONResponse(body, status_code=error.status, headers=error.headers)


def gateway_error(error: ResourceServiceError) -> JSONResponse:
    """An Alibaba Cloud API Gateway (API Marketplace) rejection."""
    rid = request_id()
    headers = {**error.headers, "X-Ca-Request-Id": rid, "X-Ca-Error-Code": error.code,
               "X-Ca-Error-Message": error.message}
    return JSONResponse({"requestId": rid, "code": error.code, "message": error.message},
                        status_code=error.status, headers=headers)


def dingtalk_error(error: ResourceServiceError) -> JSONResponse:
    """DingTalk's new-API (api.dingtalk.com) error document."""
    return JSONResponse({"code": error.code, "message": error.message, "requestid": request_id()},
                        status_code=error.status, headers=error.headers)
