"""The RPC front every Tea SDK client talks to: route, authenticate, authorize, dispatch, answer.

Routing is by `x-acs-version` + `x-acs-action` (ACS3 requests) or `Version` + `Action` in the query
(v2 RPC). Every failure is answered in Alibaba Cloud's JSON error shape; nothing becomes a traceback.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from localcloud import policy
from localcloud.request_log import RequestLog
from localcloud.rpc.auth import RpcRequest, authenticate, is_signed
from localcloud.rpc.errors import (
    InvalidParameter,
    MissingParameter,
    NoPermission,
    ServiceError,
    UnknownAction,
    UnknownVersion,
)
from localcloud.rpc.params import Params, merge_params
from localcloud.rpc.service import Call, Principal, Service
from localcloud.store import Store
from localcloud.urls import LocalUrls

__all__ = ["RpcFront"]

log = logging.getLogger("localcloud.rpc")

# Role policies (and the session policy) that apply to an assumed-role caller.
PolicySource = Callable[[Store, Principal], list[dict[str, Any]]]


class RpcFront:
    """A Starlette endpoint serving a set of services on `POST /`."""

    def __init__(self, services: Iterable[Service], store: Store, clock: Callable[[], float], region: str,
                 policies: PolicySource, urls: Callable[[], LocalUrls], log: RequestLog | None = None) -> None:
        self.services = {s.version: s for s in services}
        self.store, self.clock, self.region = store, clock, region
        self.policies, self.urls = policies, urls
        self.log = log or RequestLog()

    async def handle(self, request: Request) -> JSONResponse:
        """Answer one Tea request."""
        request_id = str(uuid.uuid4()).upper()
        host_id = "localcloud"
        try:
            rpc = await _read(request)
            service = self._service(rpc)
            host_id = service.host
            action = _action(service, rpc)
            self.log.record(action)
            # In a worker thread: handlers may call localcloud's own HTTP endpoints (discovery, token).
            body = await run_in_threadpool(self._dispatch, service, action, rpc, request_id)
        except ServiceError as error:
            return _answer(error.to_body(request_id, host_id), error.status, request_id)
        except Exception:  # a bug of ours: log it here, never send the traceback
            log.exception("internal error in request %s", request_id)
            internal = ServiceError("The request processing has failed due to an internal error.")
            return _answer(internal.to_body(request_id, host_id), 500, request_id)
        return _answer({"RequestId": request_id, **body}, 200, request_id)

    def _service(self, rpc: RpcRequest) -> Service:
        version = rpc.headers.get("x-acs-version") or rpc.query_dict.get("Version")
        if not version:
            raise MissingParameter("Version")
        service = self.services.get(version)
        if service is None:
            raise UnknownVersion(f"Specified parameter Version '{version}' is not valid.")
        return service

    def _dispatch(self, service: Service, action: str, rpc: RpcRequest, request_id: str) -> dict[str, Any]:
        now = self.clock()
        if action in service.anonymous and not is_signed(rpc):
            caller = Principal(account_id="", kind="anonymous", arn="")
        else:
            caller = authenticate(self.store, rpc, now)
        params = Params(merge_params(rpc.query, rpc.form))
        call = Call(action, params, caller, self.store, now, self.region, request_id, self.urls())
        if caller.kind == "assumed-role" and action not in service.unrestricted:
            self._authorize(service, call)
        return service.actions[action](call)

    def _authorize(self, service: Service, call: Call) -> None:
        ram_action = f"{service.code}:{call.action}"
        resource = service.resource(call)
        decision = policy.evaluate(self.policies(self.store, call.caller), ram_action, resource)
        if decision.allowed and call.caller.session_policy:
            session = policy.parse_policy(call.caller.session_policy)
            decision = policy.evaluate([session], ram_action, resource)
        if not decision.allowed:
            raise NoPermission(
                f"You are not authorized to do {ram_action} on {resource}.",
                detail={"AuthAction": ram_action, "AuthPrincipalType": "AssumedRoleUser",
                        "AuthPrincipalDisplayName": call.caller.arn, "NoPermissionType": decision.reason,
                        "PolicyType": "AccountLevelIdentityBasedPolicy"})


def _action(service: Service, rpc: RpcRequest) -> str:
    action = rpc.headers.get("x-acs-action") or rpc.query_dict.get("Action")
    if not action:
        raise MissingParameter("Action")
    if action not in service.actions:
        raise UnknownAction(f"Specified api '{action}' is not found for {service.product} {service.version}: "
                            "localcloud does not implement it.")
    return action


async def _read(request: Request) -> RpcRequest:
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    form: list[tuple[str, str]] = []
    if body and "application/x-www-form-urlencoded" in content_type:
        try:
            form = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise InvalidParameter("Body", "the form body is not UTF-8.") from None
    query = parse_qsl(request.url.query, keep_blank_values=True)
    headers = {k.lower(): v for k, v in request.headers.items()}
    return RpcRequest(request.method, request.url.path, tuple(query), headers, body, tuple(form))


def _answer(body: dict[str, Any], status: int, request_id: str) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={"x-acs-request-id": request_id})
