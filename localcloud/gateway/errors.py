"""Errors of the AI Gateway, each answered as a JSON document before the request reaches the MCP server.

Tree::

    GatewayError                 root: an HTTP status, a wire code and a message
    ├── BadRequest               400  a body that is not one JSON-RPC message
    ├── Unauthenticated          401  MissingParameter.WorkloadAccessToken / InvalidParameter.WorkloadAccessToken
    ├── AccessDenied             403  AccessDenied: the policy set denied the tool call (decision and reasons)
    ├── UnknownServer            404  no MCP server of that name on the gateway
    ├── MethodNotAllowed         405  anything but POST (the servers are stateless: no SSE stream, no session)
    ├── PayloadTooLarge          413  a body larger than the gateway reads
    └── CredentialUnavailable    500  the data plane did not give the downstream token (not a missing consent)

Bodies: `{"code", "message", "requestId"}` (the data plane's error codes for the workload access token, as the real
plugin answers), plus `decision` and `reasons` for AccessDenied. A missing consent is no HTTP error: it is the
JSON-RPC error -32042 with a URL elicitation (`ConsentRequired`), which MCP clients read.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse

__all__ = [
    "AccessDenied",
    "BadRequest",
    "ConsentRequired",
    "CredentialUnavailable",
    "GatewayError",
    "MethodNotAllowed",
    "PayloadTooLarge",
    "Unauthenticated",
    "UnknownServer",
    "request_id",
]


def request_id() -> str:
    """A request id in the upper-case UUID form Alibaba Cloud answers with."""
    return str(uuid.uuid4()).upper()


class GatewayError(Exception):
    """An error the gateway answers itself; `extra` adds fields to the body, `headers` to the response."""

    status: int = 500
    code: str = "InternalError"

    def __init__(self, message: str, *, code: str | None = None, extra: Mapping[str, Any] | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        """The JSON answer (never cached: it may name the caller's policies)."""
        body = {"code": self.code, **self.extra, "message": self.message, "requestId": request_id()}
        return JSONResponse(body, status_code=self.status, headers={"Cache-Control": "no-store", **self.headers})


class BadRequest(GatewayError):
    status = 400
    code = "InvalidParameter.Body"


class Unauthenticated(GatewayError):
    """No workload access token (`missing=True`), or one the data plane does not accept."""

    status = 401

    def __init__(self, message: str, *, missing: bool = False) -> None:
        code = "MissingParameter.WorkloadAccessToken" if missing else "InvalidParameter.WorkloadAccessToken"
        super().__init__(message, code=code, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class AccessDenied(GatewayError):
    status = 403
    code = "AccessDenied"


class UnknownServer(GatewayError):
    status = 404
    code = "NotFound.McpServer"


class MethodNotAllowed(GatewayError):
    status = 405
    code = "MethodNotAllowed"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"Allow": "POST"})


class PayloadTooLarge(GatewayError):
    status = 413
    code = "PayloadTooLarge"


class CredentialUnavailable(GatewayError):
    """GetResourceOAuth2Token failed for another reason than a missing consent (the plugin's 500)."""

    status = 500
    code = "GetResourceOAuth2TokenFailed"


class ConsentRequired(Exception):
    """The user has not consented yet: the data plane's authorization URL, to hand out as a URL elicitation."""

    def __init__(self, url: str, elicitation_id: str, message: str) -> None:
        super().__init__(message)
        self.url, self.elicitation_id, self.message = url, elicitation_id, message

    def jsonrpc_error(self) -> dict[str, Any]:
        """The JSON-RPC error object: code -32042 (URL elicitation required), one elicitation."""
        elicitation = {"mode": "url", "url": self.url, "message": self.message, "elicitationId": self.elicitation_id}
        return {"code": -32042, "message": "URL elicitation required: the user must authorize access first",
                "data": {"elicitations": [elicitation]}}
