"""Benchmark 9: the AI Gateway (issue #22): what it adds to a tool call, and Cedar with 100 policies.

Side by side in one run, on the provisioned local cloud with alice's consent to the order service given first:

- the order service called directly (`GET /orders` with the downstream token, as the gateway would forward it);
- the same call through the gateway (`tools/call listOrders` with alice's workload access token, one JSON-RPC POST
  over a kept-alive connection: what the gateway adds plus the MCP server's own framing);
- the plugin's own work on that POST, in this process on the same store: the WAT check, the Cedar decision and
  its record, and the cached downstream token (the target: 2 ms p50);
- a Cedar decision among 100 policies, the compiled set cached (the target: 1 ms p50), and compiling a new one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx

from bench.plan import Plan
from bench.results import Results
from bench.stats import percentile, ratio
from bench.world import World, order_token
from identity.governance.starter import ORDER_SERVER
from localcloud.cedar import evaluate, tool_action
from localcloud.gateway.plugin import GatewayPlugin
from localcloud.gateway.tools import hosted_servers
from localcloud.store import open_store

__all__ = ["GATEWAY", "run"]

GATEWAY = "gateway"
_MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
_CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "listOrders", "arguments": {}}}
_POLICIES = 100


def _timed(samples: int, call: Callable[[], object]) -> list[float]:
    """Milliseconds per call, after one untimed warm-up."""
    call()
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def _ok(response: httpx.Response) -> httpx.Response:
    if response.status_code != 200 or b'"isError":true' in response.content:
        raise RuntimeError(f"the call failed: HTTP {response.status_code} {response.text[:200]}")
    return response


def _over_http(world: World, wat: str, token: str, samples: int) -> tuple[list[float], list[float]]:
    gateway = world.cloud.env()["AI_GATEWAY_MCP_SERVER"]
    with httpx.Client(trust_env=False, timeout=10) as client:
        direct = _timed(samples, lambda: _ok(client.get(f"{world.cloud.order_service_url}/orders",
                                                        headers={"Authorization": f"Bearer {token}"})))
        through = _timed(samples, lambda: _ok(client.post(gateway, content=json.dumps(_CALL), headers={
            **_MCP_HEADERS, "Authorization": f"Bearer {wat}"})))
    return direct, through


def _plugin_checks(world: World, wat: str, samples: int) -> list[float]:
    """The plugin's `admit` for the call, on the same store the local cloud serves from."""
    cloud = world.cloud
    store = open_store(cloud.data_dir, time.time)
    try:
        plugin = GatewayPlugin(store, time.time, cloud.region, lambda: cloud.urls, hosted_servers)
        body = json.dumps(_CALL).encode()
        return _timed(samples, lambda: plugin.admit(ORDER_SERVER, f"Bearer {wat}", body))
    finally:
        store.close()


def _hundred_policies(gateway_arn: str) -> dict[str, str]:
    """99 policies for other users and one that permits everyone to list: the decision has to look at them all."""
    listing = tool_action(ORDER_SERVER, "listOrders")
    policies = {f"user-{index}-creates": f'permit (principal == AgentIdentity::OAuthUser::"user-{index}", '
                f'action == AIGateway::Action::"{tool_action(ORDER_SERVER, "createOrder")}", '
                f'resource == AIGateway::Gateway::"{gateway_arn}") when {{ context.input has customer_name }};'
                for index in range(_POLICIES - 1)}
    policies["everyone-lists"] = (f'permit (principal, action == AIGateway::Action::"{listing}", '
                                  f'resource == AIGateway::Gateway::"{gateway_arn}") when {{ principal has actor }};')
    return policies


def _cedar(gateway_arn: str, samples: int) -> tuple[list[float], float]:
    policies = _hundred_policies(gateway_arn)

    def decide(chosen: dict[str, str]) -> None:
        decision = evaluate(chosen, principal_user_id="alice", issuer="https://signin.example",
                            actor_arn="acs:agentidentity:cn-beijing:1:workloadidentitydirectory/default/"
                                      "workloadidentity/bench", tool_action=tool_action(ORDER_SERVER, "listOrders"),
                            gateway_arn=gateway_arn, arguments={})
        if not decision.allowed:
            raise RuntimeError(f"the benchmark's policies should allow the call: {decision}")

    fresh = {f"{name}-{time.time_ns()}": statement for name, statement in policies.items()}  # never compiled
    started = time.perf_counter()
    decide(fresh)
    compile_ms = (time.perf_counter() - started) * 1000
    return _timed(samples, lambda: decide(policies)), compile_ms


def run(world: World, plan: Plan, results: Results) -> None:
    """Every run of benchmark 9."""
    section = results.section(GATEWAY, "9. The AI Gateway: what it adds to a tool call; Cedar with 100 policies")
    token = order_token(world)
    wat = world.broker.workload_token(world.user).value
    samples = max(20, plan.cached_samples // 50)
    for _ in range(plan.repeat):
        direct, through = _over_http(world, wat, token, samples)
        checks = _plugin_checks(world, wat, samples)
        cedar, compile_ms = _cedar(world.cloud.gateway_arn, samples)
        for name, times in (("order service directly (GET /orders), p50", direct),
                            ("through the gateway (tools/call listOrders), p50", through),
                            ("  the plugin's checks in process (WAT, Cedar, record, cached token), p50", checks),
                            ("Cedar decision among 100 policies, p50", cedar)):
            results.add(GATEWAY, name, percentile(times, 50), "ms")
        results.add(GATEWAY, "  gateway round trip less the direct call, p50", percentile(through, 50)
                    - percentile(direct, 50), "ms")
        results.add(GATEWAY, "  ratio gateway / direct, p50", ratio(percentile(through, 50), percentile(direct, 50)),
                    "x")
        results.add(GATEWAY, "Cedar: compiling and deciding a new set of 100 policies", compile_ms, "ms")
    section.notes.append(f"{samples} calls per figure and run, after one warm-up; targets: the plugin's checks "
                         "2 ms p50, a decision among 100 policies 1 ms p50")
