"""The AI Gateway's Cedar evaluation (`localcloud.cedar`): pure functions over the real Cedar engine, no socket."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from localcloud.cedar import (
    InvalidStatement,
    UnrepresentableInput,
    evaluate,
    permitted_tools,
    tool_action,
    validate_statement,
)
from localcloud.cedar.policies import compile_policies
from localcloud.cedar.request import build_request, cedar_value
from tests.conftest import repo_root

ACCOUNT = "1234567890123456"
GATEWAY = f"acs:apig:cn-beijing:{ACCOUNT}:gateway/gw-0001"
OTHER_GATEWAY = f"acs:apig:cn-beijing:{ACCOUNT}:gateway/gw-0002"
ACTOR = f"acs:agentidentity:cn-beijing:{ACCOUNT}:workloadidentitydirectory/default/workloadidentity/order-agent"
USER = "user_0123456789abcdef0123456789abcdef"
POOL_USER = f"acs:agentidentity:cn-beijing:{ACCOUNT}:userpool/pool-1/user/u-1"
ISSUER = "https://signin-cn-beijing.aliyunagentid.com/pool-1"
SERVER = "test-order-agent-identity"


def _action(tool: str) -> str:
    return tool_action(SERVER, tool)


def _call(policies: dict[str, str], tool: str, arguments: dict[str, Any] | None = None, **who: Any):
    values: dict[str, Any] = {"principal_user_id": USER, "issuer": ISSUER, "actor_arn": ACTOR,
                              "gateway_arn": GATEWAY, **who}
    return evaluate(policies, tool_action=_action(tool), arguments=arguments or {}, **values)


def _listed(policies: dict[str, str], tools: list[str], **who: Any) -> tuple[str, ...]:
    values: dict[str, Any] = {"principal_user_id": USER, "issuer": ISSUER, "actor_arn": ACTOR,
                              "gateway_arn": GATEWAY, **who}
    listing = permitted_tools(policies, tool_actions=[_action(t) for t in tools], **values)
    return tuple(action.rsplit(".", 1)[1] for action in listing.permitted)


# The examples of WIRE §10.5, verbatim but for the placeholders.
EX0_PERMIT_GATEWAY = f'''permit (
  principal,
  action,
  resource == AIGateway::Gateway::"{GATEWAY}"
);'''


def _ex1(principal: str) -> str:
    return f'''permit (
  principal == AgentIdentity::OAuthUser::"{principal}",
  action in
    [AIGateway::Action::"mcp-servers.test-order-agent-identity.deleteOrder",
     AIGateway::Action::"mcp-servers.test-order-agent-identity.getOrder",
     AIGateway::Action::"mcp-servers.test-order-agent-identity.listOrders"],
  resource == AIGateway::Gateway::"{GATEWAY}"
)
when {{ principal has actor }};'''


EX2_CUSTOMER = f'''permit (
  principal,
  action == AIGateway::Action::"mcp-servers.test-order-agent-identity.createOrder",
  resource == AIGateway::Gateway::"{GATEWAY}"
)
when {{ context.input.customer_name == "张三" }};'''
PERMIT_ALL = "permit (principal, action, resource);"
FORBID_ALL = "forbid (principal, action, resource);"
NO_DELETE = 'forbid (principal, action == AIGateway::Action::"mcp-servers.test-order-agent-identity.deleteOrder", ' \
            "resource);"
DOCS_AMOUNT = '''permit (
  principal is AgentIdentity::OAuthUser,
  action == AIGateway::Action::"mcp-servers.order-service.create-order",
  resource
)
when { context.input.amount >= 1000 && ip(context.sourceIp).isInRange(ip("192.168.1.0/24")) };'''


# -- evaluate: the semantics of WIRE §10.2 ------------------------------------------------------------
def test_a_permit_allows_and_is_named_as_the_deciding_policy() -> None:
    decision = _call({"probe": PERMIT_ALL}, "listOrders")
    assert (decision.allowed, decision.deciding_policies, decision.errors) == (True, ("probe",), ())


def test_forbid_overrides_permit_and_is_the_deciding_policy() -> None:
    decision = _call({"everyone": PERMIT_ALL, "no-delete": NO_DELETE}, "deleteOrder")
    assert (decision.allowed, decision.deciding_policies) == (False, ("no-delete",))
    assert _call({"everyone": PERMIT_ALL, "no-delete": NO_DELETE}, "getOrder").allowed


def test_no_matching_permit_is_a_default_deny_with_no_deciding_policy() -> None:
    decision = _call({"ex1": _ex1(USER)}, "createOrder")
    assert (decision.allowed, decision.deciding_policies, decision.errors) == (False, (), ())


def test_an_empty_policy_set_denies_everything_and_lists_nothing() -> None:
    assert not _call({}, "listOrders").allowed
    assert _listed({}, ["listOrders", "getOrder"]) == ()


def test_the_default_policy_of_the_sample_forbids_everything() -> None:
    policies = {"deny-all": FORBID_ALL, "everyone": PERMIT_ALL}
    assert _call(policies, "listOrders").deciding_policies == ("deny-all",)
    assert _listed(policies, ["listOrders"]) == ()


def test_all_matching_permits_are_deciding_in_the_sets_order() -> None:
    policies = {"b-probe": EX0_PERMIT_GATEWAY, "a-user": _ex1(USER), "c-all": PERMIT_ALL}
    assert _call(policies, "getOrder").deciding_policies == ("b-probe", "a-user", "c-all")


def test_example_0_permits_every_tool_on_its_gateway_only() -> None:
    assert _call({"ex0": EX0_PERMIT_GATEWAY}, "createOrder").allowed
    assert not _call({"ex0": EX0_PERMIT_GATEWAY}, "createOrder", gateway_arn=OTHER_GATEWAY).allowed


@pytest.mark.parametrize("principal", [USER, POOL_USER])  # form B (short id) and form A (user pool ARN)
def test_example_1_permits_its_user_three_tools_through_a_workload(principal: str) -> None:
    policies = {"ex1": _ex1(principal)}
    assert [_call(policies, t, principal_user_id=principal).allowed for t in ("deleteOrder", "getOrder",
                                                                                "listOrders", "createOrder")] \
        == [True, True, True, False]
    assert not _call(policies, "getOrder", principal_user_id="user_someone_else").allowed


def test_principal_has_actor_needs_a_workload_acting() -> None:
    assert not _call({"ex1": _ex1(USER)}, "getOrder", actor_arn=None).allowed


def test_conditions_read_the_principals_attributes() -> None:
    policy = {"by-issuer": f'permit (principal, action, resource) when {{ principal.Issuer == "{ISSUER}" && '
                           f'principal.actor == "{ACTOR}" }};'}
    assert _call(policy, "getOrder").allowed
    assert not _call(policy, "getOrder", issuer="https://elsewhere.example").allowed
    short = ACTOR.rsplit("/", 1)[1]
    assert not _call(policy, "getOrder", actor_arn=short).allowed  # the short form never matches


def test_example_2_permits_create_order_only_for_its_customer() -> None:
    policies = {"ex2": EX2_CUSTOMER}
    assert _call(policies, "createOrder", {"customer_name": "张三", "items": []}).deciding_policies == ("ex2",)
    assert not _call(policies, "createOrder", {"customer_name": "李四"}).allowed


def test_a_condition_on_a_missing_argument_denies_and_says_which_policy_failed() -> None:
    decision = _call({"ex2": EX2_CUSTOMER}, "createOrder", {"items": []})
    assert not decision.allowed
    assert len(decision.errors) == 1 and "ex2" in decision.errors[0] and "customer_name" in decision.errors[0]


def test_the_documented_amount_and_source_ip_condition() -> None:
    policies = {"big-orders": DOCS_AMOUNT}
    tool = "mcp-servers.order-service.create-order"

    def allowed(amount: int, source_ip: str) -> bool:
        return evaluate(policies, principal_user_id=USER, issuer=ISSUER, actor_arn=None, tool_action=tool,
                        gateway_arn=GATEWAY, arguments={"amount": amount}, source_ip=source_ip).allowed

    assert allowed(1000, "192.168.1.20")
    assert not allowed(999, "192.168.1.20")
    assert not allowed(5000, "10.0.0.1")


def test_the_policy_name_is_the_decision_id_even_when_the_statement_has_an_id_annotation() -> None:
    decision = _call({"mine": '@id("theirs") ' + PERMIT_ALL}, "getOrder")
    assert decision.deciding_policies == ("mine",)


def test_an_invalid_statement_in_the_set_denies_and_names_the_policy() -> None:
    decision = _call({"good": PERMIT_ALL, "broken": "permit (principal, action"}, "getOrder")
    assert not decision.allowed and decision.errors == ("policy broken: unexpected end of input",)


# -- arguments as Cedar values ----------------------------------------------------------------------
def test_numbers_become_longs_or_decimals() -> None:
    policy = {"cheap": 'permit (principal, action, resource) when { context.input.quantity > 2 && '
                       'context.input.unit_price.lessThan(decimal("10.0")) };'}
    assert _call(policy, "createOrder", {"quantity": 3.0, "unit_price": 9.99}).allowed
    assert not _call(policy, "createOrder", {"quantity": 3, "unit_price": 10.5}).allowed


def test_nulls_are_left_out_so_has_is_false() -> None:
    policy = {"named": "permit (principal, action, resource) when { context.input has customer_name };"}
    assert _call(policy, "createOrder", {"customer_name": "张三"}).allowed
    assert not _call(policy, "createOrder", {"customer_name": None}).allowed


def test_an_argument_cannot_pose_as_an_entity() -> None:
    policy = {"gw": f'permit (principal, action, resource) when {{ context.input.target == '
                    f'AIGateway::Gateway::"{GATEWAY}" }};'}
    decision = _call(policy, "getOrder", {"target": {"__entity": {"type": "AIGateway::Gateway", "id": GATEWAY}}})
    assert not decision.allowed and "__entity" in decision.errors[0]


@pytest.mark.parametrize("value", [1e-7, 2**64, float("inf"), 0.1 + 0.2])
def test_numbers_cedar_cannot_hold_fail_closed(value: float) -> None:
    with pytest.raises(UnrepresentableInput):
        cedar_value({"n": value}, "input")
    decision = _call({"everyone": PERMIT_ALL}, "getOrder", {"n": value})
    assert not decision.allowed and decision.errors[0].startswith("input.n:")


def test_arguments_that_are_not_an_object_fail_closed() -> None:
    decision = _call({"everyone": PERMIT_ALL}, "getOrder", ["not", "an", "object"])  # type: ignore[arg-type]
    assert not decision.allowed and "JSON object" in decision.errors[0]


def test_the_request_has_the_shape_of_wire_10_2() -> None:
    request = build_request(principal_user_id=USER, issuer=ISSUER, actor_arn=ACTOR, tool_action=_action("getOrder"),
                            gateway_arn=GATEWAY, arguments={"order_id": "o-1"})
    assert request.as_json() == {
        "principal": {"type": "AgentIdentity::OAuthUser", "id": USER},
        "action": {"type": "AIGateway::Action", "id": "mcp-servers.test-order-agent-identity.getOrder"},
        "resource": {"type": "AIGateway::Gateway", "id": GATEWAY},
        "context": {"input": {"order_id": "o-1"}},
    }
    assert request.entities[0]["attrs"] == {"Issuer": ISSUER, "actor": ACTOR}


# -- tools/list ---------------------------------------------------------------------------------------
TOOLS = ["createOrder", "deleteOrder", "getOrder", "listOrders"]


def test_tools_list_keeps_what_some_input_could_permit() -> None:
    policies = {"ex1": _ex1(USER), "ex2": EX2_CUSTOMER, "no-delete": NO_DELETE}
    assert _listed(policies, TOOLS) == ("createOrder", "getOrder", "listOrders")


def test_a_tool_listed_under_an_input_condition_is_still_denied_for_other_input() -> None:
    assert _listed({"ex2": EX2_CUSTOMER}, TOOLS) == ("createOrder",)
    assert not _call({"ex2": EX2_CUSTOMER}, "createOrder", {"customer_name": "李四"}).allowed


def test_a_tool_forbidden_only_for_some_input_is_listed() -> None:
    policies = {"everyone": PERMIT_ALL,
                "no-bulk": 'forbid (principal, action, resource) when { context.input.limit > 100 };'}
    assert _listed(policies, ["listOrders"]) == ("listOrders",)
    assert not _call(policies, "listOrders", {"limit": 500}).allowed


def test_tools_list_follows_the_principal() -> None:
    assert _listed({"ex1": _ex1(USER)}, TOOLS) == ("deleteOrder", "getOrder", "listOrders")
    assert _listed({"ex1": _ex1(USER)}, TOOLS, actor_arn=None) == ()
    assert _listed({"ex1": _ex1(USER)}, TOOLS, principal_user_id="user_other") == ()


def test_tools_list_of_an_invalid_set_is_empty_with_the_reason() -> None:
    listing = permitted_tools({"broken": "permit ("}, principal_user_id=USER, issuer=ISSUER, actor_arn=ACTOR,
                              gateway_arn=GATEWAY, tool_actions=[_action("getOrder")])
    assert listing.permitted == () and listing.errors[0].startswith("policy broken:")


def test_a_tool_name_cedar_syntax_cannot_carry_is_not_listed() -> None:
    listing = permitted_tools({"everyone": PERMIT_ALL}, principal_user_id=USER, issuer=ISSUER, actor_arn=ACTOR,
                              gateway_arn=GATEWAY, tool_actions=["mcp-servers.s.bad\ntool", _action("getOrder")])
    assert listing.permitted == (_action("getOrder"),) and len(listing.errors) == 1


def test_quotes_in_ids_are_escaped_for_partial_evaluation() -> None:
    odd = 'user "quoted" \\ back'
    # JSON escapes '"' and '\\' as Cedar's string literals do.
    policy = {"odd": f"permit (principal == AgentIdentity::OAuthUser::{json.dumps(odd)}, action, resource);"}
    assert _call(policy, "getOrder", principal_user_id=odd).allowed
    assert _listed(policy, ["getOrder"], principal_user_id=odd) == ("getOrder",)


# -- statements and the cache ---------------------------------------------------------------------------
@pytest.mark.parametrize(("statement", "message"), [
    ("permit (principal, action, resource", "unexpected end of input"),
    ("permit (principal, action, resource) when { context.input.x == };", "unexpected token `}`"),
    ("permit (principal, action, resource) when { foo };", "invalid variable: foo"),
    ("// only a comment", "holds 0"),
    (f"{PERMIT_ALL} {FORBID_ALL}", "holds 2"),
    ("permit (principal == ?principal, action, resource);", "templates"),
])
def test_the_engine_refuses_anything_but_one_static_policy(statement: str, message: str) -> None:
    with pytest.raises(InvalidStatement, match=message.replace("?", r"\?")):
        validate_statement(statement)


def test_deeply_nested_statements_are_refused_without_crashing_the_process() -> None:
    # A few thousand levels overflow a default thread stack inside Cedar's parser; these are under 10,000 characters.
    with pytest.raises(InvalidStatement, match="nesting exceeds the supported limit of 100 levels"):
        validate_statement("permit (principal, action, resource) when { " + "1 + " * 2400 + "1 == 2 };")
    with pytest.raises(InvalidStatement, match="nesting"):
        validate_statement("permit (principal, action, resource) when { " + "[" * 4900 + "]" * 4900 + " == [] };")
    with pytest.raises(InvalidStatement, match="longer than 10000"):
        validate_statement(PERMIT_ALL + " " * 10_000)
    # Redundant parentheses leave no depth behind: accepted, and evaluated like the plain statement.
    redundant = "permit (principal, action, resource) when { " + "(" * 4900 + "true" + ")" * 4900 + " };"
    assert _call({"parens": redundant}, "getOrder").allowed


def test_arguments_nested_too_deep_fail_closed() -> None:
    nested: Any = 1
    for _ in range(5000):
        nested = [nested]
    decision = _call({"everyone": PERMIT_ALL}, "getOrder", {"n": nested})
    assert not decision.allowed and "nested deeper than 64 levels" in decision.errors[0]


def test_a_set_is_compiled_once_per_content() -> None:
    policies = (("a", PERMIT_ALL), ("b", NO_DELETE + " "))
    compile_policies.cache_clear()
    for _ in range(3):
        _call(dict(policies), "getOrder")
    info = compile_policies.cache_info()
    assert (info.misses, info.hits) == (1, 2)
    _call({"a": PERMIT_ALL, "b": FORBID_ALL}, "getOrder")
    assert compile_policies.cache_info().misses == 2


def test_cedarpy_is_imported_only_when_a_policy_is_parsed() -> None:
    probe = ("import sys, localcloud, localcloud.cedar, localcloud.services; "
             "print('cedarpy' in sys.modules, end=' '); "
             "localcloud.cedar.validate_statement('permit (principal, action, resource);'); "
             "print('cedarpy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], cwd=repo_root(), capture_output=True, text=True, timeout=120,
                          check=True)
    assert done.stdout.strip() == "False True"
