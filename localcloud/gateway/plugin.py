"""The `agent-identity-oauth` plugin's work on one MCP POST, before the MCP server sees it (blocking: store, Cedar,
the data plane; run it off the event loop).

1. The workload access token of `Authorization: Bearer` is verified (else 401).
2. `tools/list`: the tools the policy set could permit this user are worked out, for the server to list.
3. `tools/call` of a known tool: the policy set decides, and the decision is recorded. Denied under ENFORCE: 403.
   Allowed (or LOG_ONLY): the user's downstream token is fetched (no consent yet: a -32042 JSON-RPC answer with the
   data plane's authorization URL).
4. The caller's `Authorization` is stripped from what goes on, and the downstream token injected in its place
   (tools/call only): the MCP server, and the upstream behind it, never see the workload access token.

A JSON-RPC batch (an array) is refused: MCP's streamable HTTP carries one message per POST, and every call in a batch
would otherwise need a decision of its own. Other bodies the MCP server parses and answers itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from localcloud import arns
from localcloud.cedar import tool_action
from localcloud.gateway.authorization import CedarPrincipal, GatewayDecision, decide, listed_tools
from localcloud.gateway.callers import Caller, verify_caller
from localcloud.gateway.config import ORDER_SERVER, CredentialInjection, McpServerSpec, gateway_arn
from localcloud.gateway.credentials import DownstreamTokens
from localcloud.gateway.decisions import DecisionLog
from localcloud.gateway.errors import AccessDenied, BadRequest, ConsentRequired
from localcloud.gateway.upstream import ToolRoute
from localcloud.request_log import RequestLog
from localcloud.services.agentidentity.policy_records import gateway_policy
from localcloud.store import Store
from localcloud.urls import LocalUrls

__all__ = ["ADMISSION_KEY", "Admission", "GatewayPlugin", "HostedServer"]

ADMISSION_KEY = "localcloud.gateway.admission"  # where the plugin leaves its Admission in the ASGI scope


@dataclass(frozen=True)
class HostedServer:
    """An MCP server on the gateway: its spec and its tools (their names make the Cedar actions)."""

    spec: McpServerSpec
    routes: tuple[ToolRoute, ...]

    @property
    def tools(self) -> tuple[str, ...]:
        return tuple(route.name for route in self.routes)


@dataclass(frozen=True)
class Admission:
    """What the plugin lets through to the MCP server, and what it tells the server about the request."""

    server: str
    caller: Caller | None = field(default=None, repr=False)
    listed: tuple[str, ...] = ()  # tools/list: the tools to show
    call: tuple[str, dict[str, Any]] | None = None  # tools/call: the one call authorized (name, arguments)
    injected: tuple[str, str] | None = field(default=None, repr=False)  # the header that replaces Authorization
    reply: dict[str, Any] | None = None  # a JSON-RPC answer the plugin gives itself (-32042)


def _message(body: bytes) -> dict[str, Any] | None:
    """The JSON-RPC message, or None for a body the MCP server must judge (it answers a parse error)."""
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if isinstance(message, list):
        raise BadRequest("JSON-RPC batches are not accepted: send one message per POST.")
    return message if isinstance(message, dict) else None


def _tool_call(message: dict[str, Any], tools: tuple[str, ...]) -> tuple[str, dict[str, Any]] | None:
    """The (tool, arguments) of a `tools/call` of one of `tools` with an object (or no) arguments, else None."""
    params = message.get("params")
    if message.get("method") != "tools/call" or not isinstance(params, dict):
        return None
    name, arguments = params.get("name"), params.get("arguments")
    if name not in tools or not isinstance(arguments, dict | None):
        return None
    return str(name), arguments or {}


def _denial(decision: GatewayDecision, tool: str) -> AccessDenied:
    if decision.deciding_policies:
        why = f"forbidden by {', '.join(decision.deciding_policies)}"
    elif decision.policy_set is None:
        why = "no policy set is attached to the gateway"
    else:
        why = f"no policy of the set {decision.policy_set} permits it"
    return AccessDenied(f"The call of {tool} is denied: {why}.",
                        extra={"decision": decision.decision, "reasons": list(decision.deciding_policies),
                               "policySet": decision.policy_set, "mode": decision.mode,
                               "errors": list(decision.errors)})


class GatewayPlugin:
    """The plugin as installed on this localcloud's gateway."""

    def __init__(self, store: Store, clock: Callable[[], float], region: str, urls: Callable[[], LocalUrls],
                 servers: Callable[[str, str], Mapping[str, HostedServer]], log: RequestLog | None = None) -> None:
        self._store, self._clock, self._region, self._urls = store, clock, region, urls
        self._servers = servers
        self.decisions = DecisionLog(store)
        self.tokens = DownstreamTokens(store, region, urls, log)

    def account(self) -> str:
        return self._store.meta("account_id") or ""

    def gateway_arn(self) -> str:
        return gateway_arn(self._region, self.account())

    def servers(self) -> Mapping[str, HostedServer]:
        """The MCP servers the gateway hosts, by name."""
        return self._servers(self._region, self.account())

    def admit(self, server: str, authorization: str | None, body: bytes) -> Admission:
        """Check one POST to `server`; GatewayError when it goes no further."""
        now, account, gateway = self._clock(), self.account(), self.gateway_arn()
        caller = verify_caller(authorization, store=self._store, account=account, gateway=gateway, now=now,
                               region=self._region, urls=self._urls())
        message, hosted = _message(body) or {}, self.servers()[server]
        principal = CedarPrincipal(caller.user_id, caller.issuer, caller.workload_arn)
        if message.get("method") == "tools/list":
            listed = listed_tools(gateway_policy(self._store, account, gateway), principal, server=server,
                                  tools=hosted.tools, gateway_arn=gateway)
            return Admission(server, caller, listed=listed)
        call = _tool_call(message, hosted.tools)
        if call is None:  # not a call, or one the MCP server refuses itself (an unknown tool, bad arguments)
            return Admission(server, caller)
        self._authorize(hosted, principal, call, gateway, now)
        return self._with_token(hosted.spec.credential, server, caller, call, message.get("id"), gateway, now)

    def _authorize(self, hosted: HostedServer, principal: CedarPrincipal, call: tuple[str, dict[str, Any]],
                   gateway: str, now: float) -> None:
        tool, arguments = call
        decision = decide(gateway_policy(self._store, self.account(), gateway), principal, server=hosted.spec.name,
                          tool=tool, gateway_arn=gateway, arguments=arguments)
        self.decisions.record(self.account(), now=now, principal=principal, server=hosted.spec.name, tool=tool,
                              decision=decision, arguments=arguments)
        if not decision.forwarded:
            raise _denial(decision, tool)

    def _with_token(self, injection: CredentialInjection, server: str, caller: Caller,
                    call: tuple[str, dict[str, Any]], message_id: Any, gateway: str, now: float) -> Admission:
        if not injection.enabled:
            return Admission(server, caller, call=call)
        try:
            token = self.tokens.token(caller, injection, gateway_arn=gateway, now=now)
        except ConsentRequired as consent:
            reply = {"jsonrpc": "2.0", "id": message_id, "error": consent.jsonrpc_error()}
            return Admission(server, caller, call=call, reply=reply)
        return Admission(server, caller, call=call, injected=(injection.header_name, injection.header_value(
            token.value)))

    def forget_token(self, admission: Admission) -> None:
        """The upstream refused the injected token: ask the data plane again next time."""
        hosted = self.servers().get(admission.server)
        if admission.caller is not None and hosted is not None:
            self.tokens.forget(admission.caller, hosted.spec.credential)

    def try_request(self, *, user_id: str, tool: str, arguments: Mapping[str, Any] | None = None,
                    workload: str | None = None, issuer: str | None = None,
                    server: str = ORDER_SERVER) -> dict[str, Any]:
        """"Try a request": what the policy set would decide for this call, with the same engine and entities as a
        real one (`actor` = the named workload identity's ARN, none when not named; `Issuer` = localcloud's sign-in
        issuer unless given). Nothing is recorded, and nothing is called."""
        hosted = self.servers().get(server)
        if hosted is None or tool not in hosted.tools:
            raise BadRequest(f"The gateway's server {server} has no tool {tool}.", code="InvalidParameter.Tool")
        account, gateway = self.account(), self.gateway_arn()
        actor = arns.workload_identity_arn(self._region, account, workload) if workload else None
        principal = CedarPrincipal(user_id, issuer or self._urls().issuer("aliyun"), actor)
        policy = gateway_policy(self._store, account, gateway)
        decision = decide(policy, principal, server=server, tool=tool, gateway_arn=gateway, arguments=arguments)
        listed = tool in listed_tools(policy, principal, server=server, tools=hosted.tools, gateway_arn=gateway)
        return {"decision": decision.decision, "allowed": decision.allowed, "forwarded": decision.forwarded,
                "mode": decision.mode, "policy_set": decision.policy_set,
                "deciding_policies": list(decision.deciding_policies), "errors": list(decision.errors),
                "listed": listed, "principal": {"user_id": user_id, "issuer": principal.issuer, "actor": actor},
                "action": tool_action(server, tool), "resource": gateway,
                "arguments_digest": self.decisions.digest(arguments)}
