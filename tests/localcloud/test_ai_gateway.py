"""The AI Gateway in localcloud: MCP over streamable HTTP through the official `mcp` client, workload access tokens
from the official data-plane client, policy sets through the official control-plane client, consent in the
scripted browser; raw HTTP only to read statuses and bodies."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import jwt
import pytest
from alibabacloud_agentidentitydata20251127 import models as data
from mcp.shared.exceptions import MCPError

from localcloud import jose
from localcloud.gateway.credentials import REFRESH_LEEWAY_SECONDS, DownstreamToken
from localcloud.gateway.tools import tool_route
from localcloud.gateway.upstream import ToolRoute, call_upstream
from localcloud.orders import order_tool
from localcloud.store import open_store
from tests.localcloud.gateway_world import (
    MCP_HEADERS,
    GatewayWorld,
    attached_set,
    call_tool,
    consent_through_gateway,
    listed,
    raw_call,
    start_gateway_world,
)
from tests.localcloud.order_support import api
from tests.localcloud.sample_setup import data_client

SERVER = "test-order-agent-identity"
ALL_TOOLS = ["createOrder", "deleteOrder", "getOrder", "listOrders"]
PERMIT_ALL = "permit (principal, action, resource);"
ORDER = {"customer_name": "张三", "items": [{"name": "tea", "quantity": 2, "unit_price": 9.5}]}


def action(tool: str) -> str:
    return f'AIGateway::Action::"mcp-servers.{SERVER}.{tool}"'


def user(world: GatewayWorld, username: str) -> str:
    return f'AgentIdentity::OAuthUser::"{world.subjects[username]}"'


def gateway(world: GatewayWorld) -> str:
    return f'AIGateway::Gateway::"{world.cloud.gateway_arn}"'


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> GatewayWorld:
    return start_gateway_world(tmp_path_factory.mktemp("gateway") / "lc")


@pytest.fixture(scope="module")
def wats(world: GatewayWorld) -> dict[str, str]:
    return {username: world.wat(username) for username in ("alice", "bob")}


@pytest.fixture(scope="module")
def consented(world: GatewayWorld, wats: dict[str, str]) -> dict[str, str]:
    """alice has consented to the order service once (through the gateway's own -32042 round trip)."""
    with attached_set(world, {"all": PERMIT_ALL}):
        with pytest.raises(MCPError) as asked:
            call_tool(world, wats["alice"], "listOrders")
        consent_through_gateway(world, "alice", asked.value.data["elicitations"][0]["url"])
        assert not call_tool(world, wats["alice"], "listOrders").is_error
    return wats


def last_decision(world: GatewayWorld, **filters: str) -> dict[str, Any]:
    return world.cloud.gateway_decisions(limit=1, **filters)[0]


# -- the gateway and its one server ----------------------------------------------------------------
def test_env_names_the_gateway_arn_and_the_samples_mcp_server(world):
    env = world.cloud.env()
    assert env["AI_GATEWAY_MCP_SERVER"] == f"{world.cloud.url}/mcp-servers/{SERVER}"
    assert env["AI_GATEWAY_ARN"] == f"acs:apig:{world.cloud.region}:{world.cloud.account_id}:gateway/gw-localcloud"


def test_the_gateway_describes_its_server_tools_and_plugin_rule(world):
    answer = httpx.get(f"{world.cloud.url}/_localcloud/gateway", trust_env=False, timeout=10,
                       headers={"x-localcloud-control-token": world.cloud.control_token}).json()
    [server] = answer["servers"]
    assert answer["gateway_arn"] == world.cloud.gateway_arn and server["url"] == world.url
    assert [tool["name"] for tool in server["tools"]] == ALL_TOOLS
    assert server["tools"][0]["action"] == f"mcp-servers.{SERVER}.createOrder"
    credential = server["plugin"]["credential"]
    assert credential["arn"] == (f"acs:agentidentity:{world.cloud.region}:{world.cloud.account_id}:tokenvault/default/"
                                 "oauth2credentialprovider/mcp-order-oauth2")
    assert (credential["enabled"], credential["type"], credential["oauthFlow"]) == (True, "oauth2", "USER_FEDERATION")
    assert (credential["injectHeaderName"], credential["injectHeaderPrefix"]) == ("Authorization", "Bearer")
    assert server["plugin"]["agentIdentityService"]["resourceId"] == world.cloud.gateway_arn


# -- the workload access token: 401s ----------------------------------------------------------------
def _resigned(wat: str, key: Any, **changes: Any) -> str:
    claims = {**jwt.decode(wat, options={"verify_signature": False}), **changes}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": jwt.get_unverified_header(wat)["kid"]})


def _foreign_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _data_plane_key(world: GatewayWorld) -> Any:
    store = open_store(world.cloud.data_dir, time.time)
    try:
        return jose.signing_key(store, "agentidentity-wat").private_key
    finally:
        store.close()


@pytest.mark.parametrize(("authorization", "code"), [
    (lambda w, t: None, "MissingParameter.WorkloadAccessToken"),
    (lambda w, t: f"Basic {t}", "MissingParameter.WorkloadAccessToken"),
    (lambda w, t: "Bearer not-a-jwt", "InvalidParameter.WorkloadAccessToken"),
    (lambda w, t: "Bearer " + t.rsplit(".", 1)[0] + ".c2lnbmF0dXJl", "InvalidParameter.WorkloadAccessToken"),
    (lambda w, t: "Bearer " + _resigned(t, _foreign_key()), "InvalidParameter.WorkloadAccessToken"),
    (lambda w, t: "Bearer " + _resigned(t, _data_plane_key(w), acct="1999999999999999"),
     "InvalidParameter.WorkloadAccessToken"),
    (lambda w, t: "Bearer " + "x" * 20000, "InvalidParameter.WorkloadAccessToken"),
], ids=["missing", "not-bearer", "garbage", "signature-swapped", "forged", "other-account", "oversized"])
def test_a_call_without_a_valid_workload_access_token_is_401(world, wats, authorization, code):
    with attached_set(world, {"all": PERMIT_ALL}):
        answer = raw_call(world, authorization(world, wats["alice"]), "listOrders")
    assert answer.status_code == 401 and answer.json()["code"] == code
    assert answer.headers["www-authenticate"].startswith("Bearer ")


def test_the_other_accounts_token_is_refused_as_such(world, wats):
    forged = _resigned(wats["alice"], _data_plane_key(world), acct="1999999999999999")
    assert "another account" in raw_call(world, f"Bearer {forged}", "listOrders").json()["message"]


def test_an_expired_workload_access_token_is_401(world, wats):
    with world.later(3600 + 60):
        answer = raw_call(world, f"Bearer {wats['alice']}", "listOrders")
    assert answer.status_code == 401
    assert answer.json()["code"] == "InvalidParameter.WorkloadAccessToken" and "expired" in answer.json()["message"]


def test_a_token_that_acts_for_no_user_is_401(world):
    bare = data_client(world.cloud).get_workload_access_token(data.GetWorkloadAccessTokenRequest(
        workload_identity_name=world.sample.workload)).body.workload_access_token
    answer = raw_call(world, f"Bearer {bare}", "listOrders")
    assert answer.status_code == 401 and "no user" in answer.json()["message"]


def test_the_official_client_cannot_even_initialize_without_a_token(world):
    with pytest.raises(MCPError):
        listed(world, None)


# -- Cedar: which calls go through ---------------------------------------------------------------------
def test_without_a_policy_set_every_call_is_denied_and_no_tool_is_listed(world, wats):
    assert listed(world, wats["alice"]) == []
    answer = raw_call(world, f"Bearer {wats['alice']}", "listOrders")
    assert answer.status_code == 403
    body = answer.json()
    assert (body["code"], body["decision"], body["reasons"], body["policySet"]) == ("AccessDenied", "DENY", [], None)
    record = last_decision(world)
    assert (record["decision"], record["policy_set"], record["forwarded"]) == ("DENY", None, False)


def test_an_empty_policy_set_denies_every_call_and_lists_no_tool(world, wats):
    with attached_set(world, {}) as empty:
        assert listed(world, wats["alice"]) == []
        answer = raw_call(world, f"Bearer {wats['alice']}", "getOrder", {"order_id": "order-001"})
    assert answer.status_code == 403 and answer.json()["reasons"] == []
    assert answer.json()["policySet"] == empty.name


def test_a_permit_for_alice_through_a_workload_lets_her_calls_reach_the_order_service(world, consented):
    statement = (f"permit (principal == {user(world, 'alice')}, action in [{action('createOrder')}, "
                 f"{action('getOrder')}], resource == {gateway(world)}) when {{ principal has actor }};")
    with attached_set(world, {"alice-orders": statement}):
        created = call_tool(world, consented["alice"], "createOrder", ORDER)
        got = call_tool(world, consented["alice"], "getOrder", {"order_id": created.structured_content["id"]})
        bob = raw_call(world, f"Bearer {consented['bob']}", "getOrder", {"order_id": created.structured_content["id"]})
    assert not created.is_error and created.structured_content["customer_name"] == "张三"
    assert created.structured_content["total_amount"] == 19.0
    assert got.structured_content == created.structured_content
    assert bob.status_code == 403 and bob.json()["reasons"] == []
    record = last_decision(world, user=world.subjects["alice"], tool="getOrder")
    assert (record["decision"], record["deciding_policies"], record["mode"]) == ("ALLOW", ["alice-orders"], "ENFORCE")
    assert record["workload"] == world.sample.workload_arn


def test_a_forbid_overrides_a_permit_and_is_named_as_the_reason(world, consented):
    policies = {"all": PERMIT_ALL, "no-delete": f"forbid (principal, action == {action('deleteOrder')}, resource);"}
    with attached_set(world, policies):
        denied = raw_call(world, f"Bearer {consented['alice']}", "deleteOrder", {"order_id": "order-001"})
        with pytest.raises(MCPError):  # the official client sees an HTTP error, not a JSON-RPC answer
            call_tool(world, consented["alice"], "deleteOrder", {"order_id": "order-001"})
        allowed = call_tool(world, consented["alice"], "listOrders")
    body = denied.json()
    assert denied.status_code == 403 and (body["code"], body["decision"]) == ("AccessDenied", "DENY")
    assert body["reasons"] == ["no-delete"] and "no-delete" in body["message"]
    assert not allowed.is_error


def test_default_deny_when_no_permit_matches(world, wats):
    with attached_set(world, {"bob-only": f"permit (principal == {user(world, 'bob')}, action, resource);"}) as bobs:
        answer = raw_call(world, f"Bearer {wats['alice']}", "listOrders")
    assert answer.status_code == 403 and answer.json()["reasons"] == []
    assert f"no policy of the set {bobs.name} permits it" in answer.json()["message"]


def test_tools_list_shows_only_the_tools_a_policy_could_permit(world, wats):
    statement = (f"permit (principal == {user(world, 'alice')}, action in [{action('deleteOrder')}, "
                 f"{action('getOrder')}, {action('listOrders')}], resource == {gateway(world)}) "
                 "when { principal has actor };")
    with attached_set(world, {"ex1": statement}):
        assert listed(world, wats["alice"]) == ["deleteOrder", "getOrder", "listOrders"]
        assert listed(world, wats["bob"]) == []


def test_a_condition_on_the_input_decides_each_call(world, consented):
    statement = (f"permit (principal, action == {action('createOrder')}, resource == {gateway(world)}) "
                 'when { context.input.customer_name == "张三" };')
    with attached_set(world, {"ex2": statement}):
        assert listed(world, consented["alice"]) == ["createOrder"]  # listed: some input is permitted
        allowed = call_tool(world, consented["alice"], "createOrder", ORDER)
        denied = raw_call(world, f"Bearer {consented['alice']}", "createOrder", {**ORDER, "customer_name": "李四"})
    assert not allowed.is_error and allowed.structured_content["customer_name"] == "张三"
    assert denied.status_code == 403 and denied.json()["reasons"] == []


def test_conditions_on_the_principal_see_the_issuer_and_the_full_workload_arn(world, consented):
    issuer = world.cloud.urls.issuer("aliyun")
    full = f'permit (principal, action, resource) when {{ principal.actor == "{world.sample.workload_arn}" && ' \
           f'principal.Issuer == "{issuer}" }};'
    short = f'permit (principal, action, resource) when {{ principal.actor == "{world.sample.workload}" }};'
    with attached_set(world, {"full-arn": full}):
        assert not call_tool(world, consented["alice"], "listOrders").is_error
    with attached_set(world, {"short-name": short}):
        assert raw_call(world, f"Bearer {consented['alice']}", "listOrders").status_code == 403


def test_log_only_records_the_deny_and_lets_the_call_through(world, consented):
    with attached_set(world, {"deny-all": "forbid (principal, action, resource);"}, mode="LOG_ONLY"):
        assert listed(world, consented["alice"]) == ALL_TOOLS
        result = call_tool(world, consented["alice"], "listOrders", {"status": "pending"})
    assert not result.is_error
    record = last_decision(world, tool="listOrders")
    assert (record["decision"], record["mode"], record["forwarded"]) == ("DENY", "LOG_ONLY", True)
    assert record["deciding_policies"] == ["deny-all"]


def test_a_policy_edit_takes_effect_on_the_next_call(world, consented):
    with attached_set(world, {"edited": PERMIT_ALL}) as policy_set:
        assert not call_tool(world, consented["alice"], "listOrders").is_error
        policy_set.update("edited", "forbid (principal, action, resource);")
        assert raw_call(world, f"Bearer {consented['alice']}", "listOrders").json()["reasons"] == ["edited"]
        policy_set.mode("LOG_ONLY")
        assert not call_tool(world, consented["alice"], "listOrders").is_error


# -- credential injection ----------------------------------------------------------------------------
def test_without_consent_the_call_asks_for_it_and_after_consent_the_same_call_succeeds(world, wats):
    with attached_set(world, {"all": PERMIT_ALL}):
        raw = raw_call(world, f"Bearer {wats['bob']}", "listOrders")
        with pytest.raises(MCPError) as asked:
            call_tool(world, wats["bob"], "listOrders")
        [elicitation] = asked.value.data["elicitations"]
        back = consent_through_gateway(world, "bob", elicitation["url"])
        after = call_tool(world, wats["bob"], "listOrders")
    assert raw.status_code == 200 and raw.json()["id"] == 7 and raw.json()["error"]["code"] == -32042
    assert asked.value.code == -32042
    assert elicitation["mode"] == "url" and elicitation["message"] and elicitation["elicitationId"]
    assert elicitation["url"].startswith(f"{world.cloud.urls.public}/oauth2/authorize?request_uri=")
    assert back["state"] == elicitation["elicitationId"]  # the consent returns carrying the elicitation's id
    assert not after.is_error and after.structured_content == {"result": []}  # bob has no orders of alice's


def test_the_order_service_never_sees_the_workload_access_token(world, consented):
    direct = api(world.cloud, "GET", "/orders", consented["alice"])  # what the WAT would get there
    with attached_set(world, {"all": PERMIT_ALL}):
        through = call_tool(world, consented["alice"], "listOrders")
    assert direct.status_code == 401
    assert not through.is_error  # so the gateway sent the user's order-service token instead


def test_the_downstream_token_is_cached_between_calls(world, consented):
    with attached_set(world, {"all": PERMIT_ALL}):
        call_tool(world, consented["alice"], "listOrders")
        before = world.cloud.request_counts().get("GetResourceOAuth2Token", 0)
        call_tool(world, consented["alice"], "listOrders")
        call_tool(world, consented["alice"], "getOrder", {"order_id": "order-001"})
    assert world.cloud.request_counts().get("GetResourceOAuth2Token", 0) == before


def test_a_cached_token_is_used_until_shortly_before_it_expires():
    token = DownstreamToken("downstream-secret", expires_at=1000.0)
    assert token.is_fresh(1000.0 - REFRESH_LEEWAY_SECONDS - 1) and not token.is_fresh(1000.0 - REFRESH_LEEWAY_SECONDS)
    assert "downstream-secret" not in repr(token)


def test_upstream_errors_come_back_as_tool_errors_with_the_upstream_message(world, consented):
    with attached_set(world, {"all": PERMIT_ALL}):
        missing = call_tool(world, consented["alice"], "getOrder", {"order_id": "no-such-order"})
        invalid = call_tool(world, consented["alice"], "createOrder", {"customer_name": "x", "items": []})
        traversal = call_tool(world, consented["alice"], "deleteOrder", {"order_id": ".."})
    assert missing.is_error and "HTTP 404" in missing.content[0].text and "not found" in missing.content[0].text
    assert invalid.is_error and "HTTP 422" in invalid.content[0].text and "items" in invalid.content[0].text
    assert traversal.is_error and "order_id" in traversal.content[0].text


# -- decisions and "Try a request" -----------------------------------------------------------------------
def test_decisions_are_recorded_without_the_arguments_and_read_back_filtered(world, consented):
    arguments = {"customer_name": "Secret Customer 4711", "items": [{"name": "x", "quantity": 1, "unit_price": 1}]}
    with attached_set(world, {"no-create": f"forbid (principal, action == {action('createOrder')}, resource);",
                              "all": PERMIT_ALL}):
        raw_call(world, f"Bearer {consented['alice']}", "createOrder", arguments)
        tried = world.cloud.gateway_evaluate(world.subjects["alice"], "createOrder", arguments,
                                             workload_identity=world.sample.workload)
    [record] = world.cloud.gateway_decisions(limit=1, user=world.subjects["alice"], tool="createOrder",
                                             decision="DENY")
    assert record["deciding_policies"] == ["no-create"] and record["policy_set"]
    assert record["arguments_digest"] == tried["arguments_digest"]
    assert set(record) >= {"time", "user", "tool", "decision", "deciding_policies", "mode", "arguments_digest"}
    text = json.dumps(world.cloud.gateway_decisions(limit=1000))
    assert "Secret Customer" not in text and consented["alice"] not in text
    assert all(r["decision"] == "ALLOW" for r in world.cloud.gateway_decisions(decision="ALLOW"))
    assert len(world.cloud.gateway_decisions(limit=2)) == 2


def test_the_decision_routes_need_the_control_token(world):
    base = f"{world.cloud.url}/_localcloud/gateway"
    assert httpx.get(f"{base}/decisions", trust_env=False, timeout=10).status_code == 403
    assert httpx.post(f"{base}/evaluate", json={"user_id": "u", "tool": "getOrder"}, trust_env=False,
                      timeout=10).status_code == 403
    wrong = httpx.get(f"{base}/decisions?limit=0", trust_env=False, timeout=10,
                      headers={"x-localcloud-control-token": world.cloud.control_token})
    assert wrong.status_code == 400 and wrong.json()["code"] == "InvalidParameter.Limit"


def test_try_a_request_answers_as_the_real_call_is_decided(world, wats):
    statement = (f"permit (principal == {user(world, 'alice')}, action == {action('getOrder')}, resource) "
                 'when { principal has actor && context.input.order_id == "order-001" };')
    with attached_set(world, {"one-order": statement}) as policy_set:
        count = len(world.cloud.gateway_decisions(limit=1000))
        allowed = world.cloud.gateway_evaluate(world.subjects["alice"], "getOrder", {"order_id": "order-001"},
                                               workload_identity=world.sample.workload)
        other = world.cloud.gateway_evaluate(world.subjects["alice"], "getOrder", {"order_id": "order-002"},
                                             workload_identity=world.sample.workload)
        no_actor = world.cloud.gateway_evaluate(world.subjects["alice"], "getOrder", {"order_id": "order-001"})
        assert len(world.cloud.gateway_decisions(limit=1000)) == count  # nothing recorded
    assert (allowed["decision"], allowed["deciding_policies"], allowed["listed"]) == ("ALLOW", ["one-order"], True)
    assert allowed["policy_set"] == policy_set.name and allowed["resource"] == world.cloud.gateway_arn
    assert allowed["principal"]["actor"] == world.sample.workload_arn
    assert (other["decision"], other["deciding_policies"]) == ("DENY", [])
    assert no_actor["decision"] == "DENY"


# -- what goes no further ------------------------------------------------------------------------------
def test_requests_the_gateway_refuses_before_authorizing(world, wats):
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {wats['alice']}"}
    get = httpx.get(world.url, headers=headers, trust_env=False, timeout=10)
    unknown = httpx.post(f"{world.cloud.url}/mcp-servers/nope", json={}, headers=headers, trust_env=False, timeout=10)
    large = httpx.post(world.url, content=b"x" * (1024 * 1024 + 1), headers=headers, trust_env=False, timeout=10)
    batch = httpx.post(world.url, json=[{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                         "params": {"name": "deleteOrder", "arguments": {"order_id": "x"}}}],
                       headers=headers, trust_env=False, timeout=10)
    assert (get.status_code, get.headers["allow"]) == (405, "POST")
    assert unknown.status_code == 404 and unknown.json()["code"] == "NotFound.McpServer"
    assert large.status_code == 413
    assert batch.status_code == 400


# -- the upstream, unreachable -----------------------------------------------------------------------------
def _route() -> ToolRoute:
    tool = order_tool("listOrders")
    assert tool is not None
    return tool_route(tool)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    stop = threading.Event()
    accepted: list[socket.socket] = []

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    thread.join(timeout=5)
    for connection in accepted:
        connection.close()
    sock.close()


def test_an_unreachable_upstream_is_a_clear_tool_error():
    answer = anyio.run(lambda: call_upstream(f"http://127.0.0.1:{_closed_port()}", _route(), {},
                                             ("Authorization", "Bearer t")))
    assert answer.is_error and answer.status is None and "could not be reached" in answer.text


def test_an_upstream_that_never_answers_times_out(silent_server):
    timeout = httpx.Timeout(0.3, connect=0.3)
    started = time.monotonic()
    answer = anyio.run(lambda: call_upstream(silent_server, _route(), {}, None, timeout=timeout))
    assert answer.is_error and "did not answer within 0.3 s" in answer.text
    assert time.monotonic() - started < 5


def test_localcloud_starts_and_describes_the_gateway_without_importing_the_mcp_sdk(tmp_path):
    probe = ("import sys, httpx, localcloud; c = localcloud.start(port=0, data_dir=sys.argv[1]); "
             "r = httpx.get(c.url + '/_localcloud/gateway', headers={'x-localcloud-control-token': c.control_token},"
             " trust_env=False, timeout=30); r.raise_for_status(); "
             "print(sorted(m for m in sys.modules if m == 'mcp' or m.startswith('mcp.')))")
    done = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "lc")], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
