"""Policy sets, Cedar policies and gateway attachments on the Agent Identity control plane (2025-09-01), through
the official SDK client over real HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_agentidentity20250901 import models as ai
from alibabacloud_agentidentity20250901.client import Client
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi import utils_models as open_api_util_models
from alibabacloud_tea_openapi.exceptions import ClientException
from darabonba.runtime import RuntimeOptions

import localcloud
from localcloud.cedar import evaluate
from localcloud.rpc.params import Params
from localcloud.rpc.service import Call, Principal
from localcloud.services.agentidentity import SERVICE
from localcloud.services.agentidentity.policy_records import gateway_policy
from localcloud.store import open_store
from tests.conftest import tea_config

PERMIT_ALL = "permit (principal, action, resource);"
FORBID_DELETE = 'forbid (principal, action == AIGateway::Action::"mcp-servers.orders.deleteOrder", resource);'
BROKEN = "permit (principal, action, resource) when { context.input.x == };"
GATEWAY = "acs:apig:cn-beijing:1234567890123456:gateway/gw-0001"


@pytest.fixture
def client(config: Any) -> Client:
    return Client(config)


# -- helpers -------------------------------------------------------------------------------------
def _error(action: Callable[[], object]) -> ClientException:
    with pytest.raises(ClientException) as caught:
        action()
    return caught.value


def _definition(statement: str) -> ai.Definition:
    return ai.Definition(cedar=ai.DefinitionCedar(statement=statement))


def _set(client: Client, name: str = "orders-set", **fields: Any) -> ai.CreatePolicySetResponseBodyPolicySet:
    request = ai.CreatePolicySetRequest(policy_set_name=name, **fields)
    return client.create_policy_set(request).body.policy_set


def _policy(client: Client, name: str = "allow-all", statement: str = PERMIT_ALL, policy_set: str = "orders-set",
            **fields: Any) -> ai.CreatePolicyResponseBodyPolicy:
    request = ai.CreatePolicyRequest(policy_set_name=policy_set, policy_name=name,
                                     definition=_definition(statement), **fields)
    return client.create_policy(request).body.policy


def _get_policy(client: Client, name: str = "allow-all", policy_set: str = "orders-set") -> Any:
    return client.get_policy(ai.GetPolicyRequest(policy_set_name=policy_set, policy_name=name)).body.policy


def _policy_names(client: Client, policy_set: str = "orders-set") -> list[str]:
    body = client.list_policies(ai.ListPoliciesRequest(policy_set_name=policy_set, max_results=100)).body
    return [policy.policy_name for policy in body.policies]


def _attach(client: Client, policy_set: str = "orders-set", arn: str = GATEWAY, **fields: Any) -> None:
    client.attach_policy_set_to_gateway(ai.AttachPolicySetToGatewayRequest(policy_set_name=policy_set,
                                                                           gateway_arn=arn, **fields))


def _config_of(client: Client, arn: str = GATEWAY, **fields: Any) -> Any:
    request = ai.GetGatewayPolicyConfigRequest(gateway_arn=arn, **fields)
    return client.get_gateway_policy_config(request).body.gateway_policy_config


def _raw(client: Client, action: str, body: dict[str, str]) -> dict[str, Any]:
    """Call an action with hand-written form fields; the parsed JSON body, before the SDK's models."""
    params = open_api_util_models.Params(action=action, version="2025-09-01", protocol="HTTPS", pathname="/",
                                         method="POST", auth_type="AK", style="RPC", req_body_type="formData",
                                         body_type="json")
    return client.call_api(params, open_api_util_models.OpenApiRequest(body=body), RuntimeOptions())["body"]


# -- policy sets ---------------------------------------------------------------------------------
def test_policy_set_round_trip(client: Client, fresh_cloud: localcloud.LocalCloud) -> None:
    created = _set(client, description="orders", source_platform="AIGateway")
    arn = f"acs:agentidentity:{fresh_cloud.region}:{fresh_cloud.account_id}:policyset/orders-set"
    assert (created.policy_set_name, created.policy_set_arn, created.description, created.source_platform) == \
        ("orders-set", arn, "orders", "AIGateway")
    assert created.create_time
    client.update_policy_set(ai.UpdatePolicySetRequest(policy_set_name="orders-set", description="all orders"))
    got = client.get_policy_set(ai.GetPolicySetRequest(policy_set_name="orders-set")).body.policy_set
    assert (got.description, got.policy_set_arn, got.create_time) == ("all orders", arn, created.create_time)
    assert got.update_time
    listed = client.list_policy_sets(ai.ListPolicySetsRequest()).body
    assert [s.policy_set_name for s in listed.policy_sets] == ["orders-set"] and listed.total_count == 1
    client.delete_policy_set(ai.DeletePolicySetRequest(policy_set_name="orders-set"))
    error = _error(lambda: client.get_policy_set(ai.GetPolicySetRequest(policy_set_name="orders-set")))
    assert (error.code, error.status_code) == ("EntityNotExist.PolicySet", 404)


def test_duplicate_policy_set_is_rejected(client: Client) -> None:
    _set(client)
    error = _error(lambda: _set(client))
    assert (error.code, error.status_code) == ("EntityAlreadyExists.PolicySet", 409)


def test_policy_set_needs_a_valid_name(client: Client) -> None:
    assert _error(lambda: _set(client, name=None)).code == "MissingParameter.PolicySetName"  # type: ignore[arg-type]
    assert _error(lambda: _set(client, name="-bad/name")).code == "InvalidParameter.PolicySetName"


@pytest.mark.parametrize("action", ["GetPolicySet", "UpdatePolicySet", "DeletePolicySet"])
def test_missing_policy_set_is_not_found(client: Client, action: str) -> None:
    error = _error(lambda: _raw(client, action, {"PolicySetName": "nope", "Description": "x"}))
    assert (error.code, error.status_code) == ("EntityNotExist.PolicySet", 404)


# -- policies ------------------------------------------------------------------------------------
def test_policy_round_trip(client: Client, fresh_cloud: localcloud.LocalCloud) -> None:
    _set(client)
    created = _policy(client, description="everyone may do everything")
    assert created.policy_arn == (f"acs:agentidentity:{fresh_cloud.region}:{fresh_cloud.account_id}"
                                  ":policyset/orders-set/policy/allow-all")
    assert (created.policy_name, created.policy_set_name, created.definition.cedar.statement) == \
        ("allow-all", "orders-set", PERMIT_ALL)
    client.update_policy(ai.UpdatePolicyRequest(policy_set_name="orders-set", policy_name="allow-all",
                                                definition=_definition(FORBID_DELETE), description="no deletes"))
    got = _get_policy(client)
    assert (got.definition.cedar.statement, got.description, got.create_time) == \
        (FORBID_DELETE, "no deletes", created.create_time)
    assert got.update_time
    client.delete_policy(ai.DeletePolicyRequest(policy_set_name="orders-set", policy_name="allow-all"))
    error = _error(lambda: _get_policy(client))
    assert (error.code, error.status_code) == ("EntityNotExist.Policy", 404)


def test_the_definition_travels_as_a_json_string_and_comes_back_an_object(client: Client) -> None:
    _set(client)
    statement = 'permit (principal, action, resource) when { context.input.customer_name == "张三" };'
    sent = {"PolicySetName": "orders-set", "PolicyName": "p",
            "Definition": json.dumps({"Cedar": {"Statement": statement}}, ensure_ascii=False)}
    answered = _raw(client, "CreatePolicy", sent)["Policy"]
    assert answered["Definition"] == {"Cedar": {"Statement": statement}}


def test_updating_only_the_description_keeps_the_statement(client: Client) -> None:
    _set(client)
    _policy(client, statement=FORBID_DELETE)
    client.update_policy(ai.UpdatePolicyRequest(policy_set_name="orders-set", policy_name="allow-all",
                                                description="later"))
    assert (_get_policy(client).definition.cedar.statement, _get_policy(client).description) == \
        (FORBID_DELETE, "later")


def test_duplicate_policy_is_rejected_within_its_set_only(client: Client) -> None:
    _set(client)
    _set(client, name="other-set")
    _policy(client)
    error = _error(lambda: _policy(client))
    assert (error.code, error.status_code) == ("EntityAlreadyExists.Policy", 409)
    assert _policy(client, policy_set="other-set").policy_set_name == "other-set"


def test_policy_of_a_missing_set_is_refused(client: Client) -> None:
    error = _error(lambda: _policy(client, policy_set="nope"))
    assert (error.code, error.status_code) == ("EntityNotExist.PolicySet", 404)
    assert _error(lambda: _policy_names(client, "nope")).code == "EntityNotExist.PolicySet"


def test_a_statement_cedar_refuses_is_answered_with_the_engines_message_and_not_saved(client: Client) -> None:
    _set(client)
    error = _error(lambda: _policy(client, statement=BROKEN))
    assert (error.code, error.status_code) == ("InvalidParameter.Definition", 400)
    assert "unexpected token `}`" in error.message
    assert _policy_names(client) == []
    assert _error(lambda: _get_policy(client)).code == "EntityNotExist.Policy"


def test_an_update_cedar_refuses_changes_nothing(client: Client) -> None:
    _set(client)
    _policy(client)
    before = _get_policy(client)
    error = _error(lambda: client.update_policy(ai.UpdatePolicyRequest(
        policy_set_name="orders-set", policy_name="allow-all", definition=_definition(BROKEN), description="new")))
    assert (error.code, "unexpected token `}`" in error.message) == ("InvalidParameter.Definition", True)
    after = _get_policy(client)
    assert after.to_map() == before.to_map()


def test_a_statement_nested_too_deep_is_refused_and_localcloud_keeps_serving(client: Client) -> None:
    _set(client)
    deep = "permit (principal, action, resource) when { " + "[" * 4900 + "]" * 4900 + " == [] };"
    error = _error(lambda: _policy(client, statement=deep))
    assert error.code == "InvalidParameter.Definition" and "nesting exceeds" in error.message
    assert _policy_names(client) == []


@pytest.mark.parametrize(("definition", "why"), [
    (json.dumps({"Cedar": {"Statement": f"{PERMIT_ALL} {FORBID_DELETE}"}}), "holds 2"),
    (json.dumps({"Cedar": {"Statement": "permit (principal == ?principal, action, resource);"}}), "templates"),
    (json.dumps({"Cedar": {"Statement": "  "}}), "Statement"),
    (json.dumps({"Cedar": {"Statement": 7}}), "Statement"),
    (json.dumps({"Cedar": "permit (principal, action, resource);"}), "Statement"),
    (json.dumps({"Statement": PERMIT_ALL}), "Statement"),
    (json.dumps({"Cedar": {"Statement": "permit (principal, action, resource) when { true };" + " " * 10_000}}),
     "longer than"),
    ("permit (principal, action, resource);", "JSON"),
    ("[]", "JSON object"),
])
def test_malformed_definitions_are_refused(client: Client, definition: str, why: str) -> None:
    _set(client)
    error = _error(lambda: _raw(client, "CreatePolicy", {"PolicySetName": "orders-set", "PolicyName": "p",
                                                         "Definition": definition}))
    assert error.code == "InvalidParameter.Definition" and why in error.message
    assert _policy_names(client) == []


def test_a_policy_needs_a_definition_and_a_valid_name(client: Client) -> None:
    _set(client)
    missing = _error(lambda: _raw(client, "CreatePolicy", {"PolicySetName": "orders-set", "PolicyName": "p"}))
    assert missing.code == "MissingParameter.Definition"
    assert _error(lambda: _policy(client, name="a/b")).code == "InvalidParameter.PolicyName"


# -- deleting a policy set --------------------------------------------------------------------------
def test_a_policy_set_holding_policies_cannot_be_deleted(client: Client) -> None:
    _set(client)
    _policy(client)
    error = _error(lambda: client.delete_policy_set(ai.DeletePolicySetRequest(policy_set_name="orders-set")))
    assert (error.code, error.status_code) == ("DeleteConflict.PolicySet.Policy", 409)
    assert "allow-all" in error.message and _policy_names(client) == ["allow-all"]


def test_an_attached_policy_set_cannot_be_deleted(client: Client) -> None:
    _set(client)
    _attach(client)
    error = _error(lambda: client.delete_policy_set(ai.DeletePolicySetRequest(policy_set_name="orders-set")))
    assert (error.code, error.status_code) == ("DeleteConflict.PolicySet.Gateway", 409)
    assert GATEWAY in error.message and _config_of(client).enforcement_mode == "ENFORCE"


def test_the_samples_cleanup_order_deletes_everything(client: Client) -> None:
    _set(client)
    _policy(client)
    _attach(client)
    client.detach_policy_set_from_gateway(ai.DetachPolicySetFromGatewayRequest(policy_set_name="orders-set",
                                                                               gateway_arn=GATEWAY))
    client.delete_policy(ai.DeletePolicyRequest(policy_set_name="orders-set", policy_name="allow-all"))
    client.delete_policy_set(ai.DeletePolicySetRequest(policy_set_name="orders-set"))
    assert client.list_policy_sets(ai.ListPolicySetsRequest()).body.total_count == 0


# -- gateways ------------------------------------------------------------------------------------
def test_attach_list_configure_and_detach(client: Client, fresh_cloud: localcloud.LocalCloud) -> None:
    set_arn = _set(client).policy_set_arn
    _attach(client, enforcement_mode="LOG_ONLY")
    config = _config_of(client)
    assert (config.policy_set_arn, config.enforcement_mode) == (set_arn, "LOG_ONLY")
    [attached] = client.list_policy_set_attached_gateways(
        ai.ListPolicySetAttachedGatewaysRequest(policy_set_name="orders-set")).body.attached_gateways
    assert (attached.gateway_arn, attached.gateway_type, attached.attached_policy_set_name,
            attached.enforcement_mode) == (GATEWAY, "AIGateway", "orders-set", "LOG_ONLY")
    assert attached.attached_time
    updated = client.update_gateway_policy_config(ai.UpdateGatewayPolicyConfigRequest(
        gateway_arn=GATEWAY, enforcement_mode="ENFORCE")).body.gateway_policy_config
    assert (updated.policy_set_arn, updated.enforcement_mode) == (set_arn, "ENFORCE")
    assert _config_of(client).enforcement_mode == "ENFORCE"
    client.detach_policy_set_from_gateway(ai.DetachPolicySetFromGatewayRequest(policy_set_name="orders-set",
                                                                               gateway_arn=GATEWAY))
    error = _error(lambda: _config_of(client))
    assert (error.code, error.status_code) == ("EntityNotExist.GatewayPolicyConfig", 404)


def test_a_gateway_attached_without_a_mode_enforces(client: Client) -> None:
    _set(client)
    _attach(client)
    assert _config_of(client, gateway_type="AIGateway").enforcement_mode == "ENFORCE"


def test_a_gateway_has_one_policy_set(client: Client) -> None:
    _set(client)
    _set(client, name="other-set")
    _attach(client)
    for policy_set in ("orders-set", "other-set"):
        error = _error(lambda policy_set=policy_set: _attach(client, policy_set=policy_set))
        assert (error.code, error.status_code) == ("GatewayAlreadyAttached", 409)
    assert "orders-set" in error.message
    _attach(client, policy_set="other-set", gateway_type="AgentRunMCP")  # another gateway type is another gateway
    assert _config_of(client, gateway_type="AgentRunMCP").policy_set_arn.endswith("/other-set")
    assert _config_of(client).policy_set_arn.endswith("/orders-set")


def test_detaching_needs_the_attached_set(client: Client) -> None:
    _set(client)
    _set(client, name="other-set")
    never = _error(lambda: client.detach_policy_set_from_gateway(ai.DetachPolicySetFromGatewayRequest(
        policy_set_name="orders-set", gateway_arn=GATEWAY)))
    assert (never.code, never.status_code) == ("EntityNotExist.GatewayPolicyConfig", 404)
    _attach(client)
    wrong = _error(lambda: client.detach_policy_set_from_gateway(ai.DetachPolicySetFromGatewayRequest(
        policy_set_name="other-set", gateway_arn=GATEWAY)))
    assert (wrong.code, wrong.status_code) == ("InvalidParameter.PolicySetName", 400)
    assert _config_of(client).policy_set_arn.endswith("/orders-set")


@pytest.mark.parametrize(("fields", "code"), [
    ({"PolicySetName": "nope", "GatewayArn": GATEWAY}, "EntityNotExist.PolicySet"),
    ({"PolicySetName": "orders-set"}, "MissingParameter.GatewayArn"),
    ({"PolicySetName": "orders-set", "GatewayArn": "gw-0001"}, "InvalidParameter.GatewayArn"),
    ({"PolicySetName": "orders-set", "GatewayArn": GATEWAY, "GatewayType": "Nginx"}, "InvalidParameter.GatewayType"),
    ({"PolicySetName": "orders-set", "GatewayArn": GATEWAY, "EnforcementMode": "enforcing"},
     "InvalidParameter.EnforcementMode"),
])
def test_attach_checks_its_parameters(client: Client, fields: dict[str, str], code: str) -> None:
    _set(client)
    assert _error(lambda: _raw(client, "AttachPolicySetToGateway", fields)).code == code
    assert _error(lambda: _config_of(client)).code == "EntityNotExist.GatewayPolicyConfig"


def test_updating_the_config_needs_a_mode_and_an_attached_gateway(client: Client) -> None:
    _set(client)
    unattached = _error(lambda: client.update_gateway_policy_config(ai.UpdateGatewayPolicyConfigRequest(
        gateway_arn=GATEWAY, enforcement_mode="LOG_ONLY")))
    assert unattached.code == "EntityNotExist.GatewayPolicyConfig"
    _attach(client)
    no_mode = _error(lambda: client.update_gateway_policy_config(ai.UpdateGatewayPolicyConfigRequest(
        gateway_arn=GATEWAY)))
    assert no_mode.code == "MissingParameter.EnforcementMode"


def test_attached_gateways_are_listed_by_type(client: Client) -> None:
    _set(client)
    _attach(client)
    _attach(client, gateway_type="AgentRunMCP")
    listed = client.list_policy_set_attached_gateways(ai.ListPolicySetAttachedGatewaysRequest(
        policy_set_name="orders-set", gateway_type="AgentRunMCP")).body
    assert [g.gateway_type for g in listed.attached_gateways] == ["AgentRunMCP"] and listed.total_count == 1


# -- paging --------------------------------------------------------------------------------------
def _pages(list_page: Callable[[str | None], tuple[list[str], Any]]) -> tuple[list[str], list[int]]:
    seen: list[str] = []
    sizes: list[int] = []
    token: str | None = None
    for _ in range(5):  # bounded: 3 pages expected
        names, token = list_page(token)
        seen += names
        sizes.append(len(names))
        if token is None:
            break
    return seen, sizes


def test_paging_policy_sets_policies_and_gateways_visits_each_exactly_once(client: Client) -> None:
    names = [f"item-{i:02d}" for i in range(25)]
    arns = [f"acs:apig:cn-beijing:1234567890123456:gateway/gw-{i:02d}" for i in range(25)]
    for name in names:
        _set(client, name=name)
        _policy(client, name=name, policy_set="item-00")
    for arn in arns:
        _attach(client, policy_set="item-00", arn=arn)

    def sets(token: str | None) -> tuple[list[str], Any]:
        body = client.list_policy_sets(ai.ListPolicySetsRequest(max_results=10, next_token=token)).body
        assert (body.total_count, body.max_results) == (25, 10)
        return [s.policy_set_name for s in body.policy_sets], body.next_token

    def policies(token: str | None) -> tuple[list[str], Any]:
        body = client.list_policies(ai.ListPoliciesRequest(policy_set_name="item-00", max_results=10,
                                                           next_token=token)).body
        assert body.total_count == 25
        return [p.policy_name for p in body.policies], body.next_token

    def gateways(token: str | None) -> tuple[list[str], Any]:
        body = client.list_policy_set_attached_gateways(ai.ListPolicySetAttachedGatewaysRequest(
            policy_set_name="item-00", max_results=10, next_token=token)).body
        return [g.gateway_arn for g in body.attached_gateways], body.next_token

    assert _pages(sets) == (names, [10, 10, 5])
    assert _pages(policies) == (names, [10, 10, 5])
    assert _pages(gateways) == (arns, [10, 10, 5])
    assert _policy_names(client, "item-01") == []


def test_invalid_paging_parameters_are_refused(client: Client) -> None:
    _set(client)
    bad_token = _error(lambda: client.list_policies(ai.ListPoliciesRequest(policy_set_name="orders-set",
                                                                           next_token="garbage!")))
    assert bad_token.code == "InvalidParameter.NextToken"
    assert _error(lambda: client.list_policy_sets(ai.ListPolicySetsRequest(max_results=101))).code == \
        "InvalidParameter.MaxResults"


# -- what a gateway enforces ------------------------------------------------------------------------
def test_the_gateway_reads_its_policies_and_the_engine_decides(client: Client,
                                                               fresh_cloud: localcloud.LocalCloud) -> None:
    _set(client)
    _policy(client, name="everyone")
    _policy(client, name="no-delete", statement=FORBID_DELETE)
    _attach(client, enforcement_mode="LOG_ONLY")
    store = open_store(Path(fresh_cloud.data_dir), time.time)
    try:
        enforced = gateway_policy(store, fresh_cloud.account_id, GATEWAY)
        unattached = gateway_policy(store, fresh_cloud.account_id, GATEWAY, "AgentRunMCP")
    finally:
        store.close()
    assert unattached is None and enforced is not None
    assert (enforced.policy_set_name, enforced.enforcement_mode) == ("orders-set", "LOG_ONLY")
    assert enforced.policies == {"everyone": PERMIT_ALL, "no-delete": FORBID_DELETE}
    decision = evaluate(enforced.policies, principal_user_id="user_1", issuer=None, actor_arn=None,
                        tool_action="mcp-servers.orders.deleteOrder", gateway_arn=GATEWAY, arguments={})
    assert (decision.allowed, decision.deciding_policies) == (False, ("no-delete",))


# -- RAM -----------------------------------------------------------------------------------------
def _call(action: str, raw: dict[str, str]) -> Call:
    caller = Principal(account_id="1234", kind="root", arn="acs:ram::1234:root")
    return Call(action, Params(raw), caller, None, 0.0, "cn-beijing", "r", "http://127.0.0.1")  # type: ignore[arg-type]


@pytest.mark.parametrize(("action", "raw", "resource"), [
    ("GetPolicySet", {"PolicySetName": "s"}, "policyset/s"),
    ("ListPolicySets", {}, "policyset/*"),
    ("CreatePolicy", {"PolicySetName": "s", "PolicyName": "p"}, "policyset/s/policy/p"),
    ("ListPolicies", {"PolicySetName": "s"}, "policyset/s/policy/*"),
    ("AttachPolicySetToGateway", {"PolicySetName": "s", "GatewayArn": GATEWAY}, "policyset/s"),
    ("ListPolicySetAttachedGateways", {"PolicySetName": "s"}, "policyset/s"),
])
def test_policy_actions_touch_the_named_resource_arn(action: str, raw: dict[str, str], resource: str) -> None:
    assert SERVICE.resource(_call(action, raw)) == f"acs:agentidentity:cn-beijing:1234:{resource}"


def test_gateway_config_actions_touch_every_resource() -> None:
    assert SERVICE.resource(_call("GetGatewayPolicyConfig", {"GatewayArn": GATEWAY})) == "*"


def test_role_credentials_are_limited_to_the_policy_actions_they_are_granted(
        config: Any, fresh_cloud: localcloud.LocalCloud) -> None:
    root = Client(config)
    _set(root)
    _set(root, name="secret-set")
    ram = RamClient(config)
    account = fresh_cloud.account_id
    trust = {"Version": "1", "Statement": [{"Effect": "Allow", "Principal": {"RAM": [f"acs:ram::{account}:root"]},
                                            "Action": "sts:AssumeRole"}]}
    role = ram.create_role(ram_models.CreateRoleRequest(role_name="policy-reader",
                                                        assume_role_policy_document=json.dumps(trust))).body.role
    allowed = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "agentidentity:GetPolicySet",
                                              "Resource": f"acs:agentidentity:*:{account}:policyset/orders-set"}]}
    ram.create_policy(ram_models.CreatePolicyRequest(policy_name="read-orders-set",
                                                     policy_document=json.dumps(allowed)))
    ram.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(policy_type="Custom",
                                                                   policy_name="read-orders-set",
                                                                   role_name="policy-reader"))
    creds = StsClient(config).assume_role(sts_models.AssumeRoleRequest(
        role_arn=role.arn, role_session_name="s1")).body.credentials
    reader = Client(tea_config(fresh_cloud, access_key_id=creds.access_key_id,
                               access_key_secret=creds.access_key_secret, security_token=creds.security_token))
    assert reader.get_policy_set(ai.GetPolicySetRequest(policy_set_name="orders-set")).body.policy_set
    other = _error(lambda: reader.get_policy_set(ai.GetPolicySetRequest(policy_set_name="secret-set")))
    write = _error(lambda: _policy(reader))
    assert (other.code, other.status_code, write.code) == ("NoPermission", 403, "NoPermission")
    assert write.access_denied_detail["AuthAction"] == "agentidentity:CreatePolicy"
    assert _policy_names(root) == []
