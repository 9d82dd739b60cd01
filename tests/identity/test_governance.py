"""The app's side of the governed tools: the policy set bound to the AI Gateway read and changed through the official
control-plane client against a real localcloud, the decision log, and "Try a request" checked against the gateway's
own evaluation of the same calls."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from alibabacloud_agentidentity20250901 import models as ai

from identity import provision
from identity.errors import CloudError
from identity.governance import policies as governance
from identity.governance.decisions import (
    DecisionLogUnavailable,
    DecisionRecord,
    TrialContext,
    TrialRequest,
    recent_decisions,
    try_request,
)
from identity.governance.policies import (
    GATEWAY_TYPE,
    NoPolicySet,
    PolicyAccess,
    PolicyChangeNotAllowed,
    PolicyDraft,
    admin_changes,
    bound_policy_set,
    policy_access,
    read_policies,
    workload_identity_arn,
)
from identity.users import SignedInUser
from ui.runtime import AppRuntime

PERMIT_ALL = "permit (principal, action, resource);"
ORDER = {"customer_name": "Bob Li", "items": [{"name": "coffee", "quantity": 2, "unit_price": 3.5}]}


def _user(login: str) -> SignedInUser:
    return SignedInUser("https://issuer.example", f"sub-{login}", login.title(), 2e9, "h.p.s", {"login_name": login})


def _config(runtime: AppRuntime) -> dict[str, Any]:
    return dict(provision.read_config(runtime.settings.config_json))


def _bound(runtime: AppRuntime, recorded: str | None = "") -> governance.BoundPolicySet:
    name = _config(runtime)["policy_set_name"] if recorded == "" else recorded
    return bound_policy_set(runtime.clients.control(), runtime.target.gateway.arn, name)


def _subjects(runtime: AppRuntime) -> dict[str, str]:
    return {login: sub for login, _name, sub in runtime.target.local.demo_users}


# -- reading ---------------------------------------------------------------------------------------------------
def test_the_bound_set_its_mode_and_its_statements_are_read(chat_runtime):
    bound = _bound(chat_runtime)
    config = _config(chat_runtime)
    assert bound.name == config["policy_set_name"] and bound.gateway_arn == config["gateway_arn"]
    assert bound.arn.endswith(f":policyset/{bound.name}") and bound.enforcement_mode == "ENFORCE"
    assert [p.name for p in bound.policies] == ["everyone-reads-orders", "alice-manages-orders",
                                                "bob-orders-for-himself"]
    assert f'AgentIdentity::OAuthUser::"{_subjects(chat_runtime)["bob"]}"' in bound.statements()[
        "bob-orders-for-himself"]
    assert bound.policy("alice-manages-orders").description == "alice may also create and delete orders."


@pytest.mark.parametrize("recorded", [None, "not-the-bound-set"])
def test_the_set_is_found_by_its_arn_when_the_recorded_name_is_missing_or_wrong(chat_runtime, recorded):
    assert _bound(chat_runtime, recorded).name == _config(chat_runtime)["policy_set_name"]


def test_no_gateway_or_no_binding_is_no_policy_set(chat_runtime):
    control = chat_runtime.clients.control()
    with pytest.raises(NoPolicySet, match="AI_GATEWAY_ARN"):
        bound_policy_set(control, None, None)
    control.detach_policy_set_from_gateway(ai.DetachPolicySetFromGatewayRequest(
        policy_set_name=_config(chat_runtime)["policy_set_name"], gateway_arn=chat_runtime.target.gateway.arn,
        gateway_type=GATEWAY_TYPE))
    with pytest.raises(NoPolicySet, match="No policy set is bound"):
        _bound(chat_runtime)


def test_policies_are_read_across_pages(chat_runtime, monkeypatch):
    monkeypatch.setattr(governance, "_PAGE_SIZE", 2)
    changes = admin_changes(chat_runtime.clients.control(), _bound(chat_runtime).name,
                            chat_runtime.target.gateway.arn, _user("alice"), ("alice",))
    for n in range(4):
        changes.create(PolicyDraft(f"extra-{n}", "", PERMIT_ALL))
    names = [p.name for p in read_policies(chat_runtime.clients.control(), _bound(chat_runtime).name)]
    assert names[3:] == [f"extra-{n}" for n in range(4)] and len(names) == 7


def test_a_listing_without_statements_reads_each_policy():
    listed = SimpleNamespace(policy_name="p1", description="d", definition=None, update_time=None)
    full = SimpleNamespace(policy_name="p1", description="d", update_time="t",
                           definition=ai.Definition(cedar=ai.DefinitionCedar(statement=PERMIT_ALL)))
    asked: list[str] = []

    class Control:
        def list_policies(self, request: Any) -> Any:
            return SimpleNamespace(body=SimpleNamespace(policies=[listed], next_token=None))

        def get_policy(self, request: Any) -> Any:
            asked.append(request.policy_name)
            return SimpleNamespace(body=SimpleNamespace(policy=full))

    assert read_policies(Control(), "set") == (governance.Policy("p1", "d", PERMIT_ALL, "t"),)
    assert asked == ["p1"]


def test_a_listing_that_never_ends_is_an_error_not_a_hang():
    class Control:
        def list_policies(self, request: Any) -> Any:
            return SimpleNamespace(body=SimpleNamespace(policies=[], next_token="again"))

    with pytest.raises(CloudError, match="did not end"):
        read_policies(Control(), "set")


def test_the_workload_identitys_arn_comes_from_the_control_plane(chat_runtime):
    name = _config(chat_runtime)["workload_identity_name"]
    arn = workload_identity_arn(chat_runtime.clients.control(), name)
    assert arn.endswith(f":workloadidentitydirectory/default/workloadidentity/{name}")


# -- changing --------------------------------------------------------------------------------------------------
def test_who_may_change_the_policies():
    assert policy_access(_user("alice"), ("alice",)) == PolicyAccess(True)
    assert policy_access(_user("Alice"), ("alice",)).allowed  # login names compare in lower case
    refused = policy_access(_user("bob"), ("alice", "carol"))
    assert not refused.allowed and "APP_ADMINS: alice, carol" in refused.reason
    assert not policy_access(None, ("alice",)).allowed
    assert "nobody: APP_ADMINS is empty" in policy_access(_user("alice"), ()).reason


def test_an_administrator_creates_updates_deletes_and_switches_the_mode(chat_runtime):
    control, bound = chat_runtime.clients.control(), _bound(chat_runtime)
    changes = admin_changes(control, bound.name, bound.gateway_arn, _user("alice"), ("alice",))
    changes.create(PolicyDraft(" new-one ", "first", PERMIT_ALL))
    assert _bound(chat_runtime).policy("new-one") == governance.Policy(
        "new-one", "first", PERMIT_ALL, _bound(chat_runtime).policy("new-one").update_time)
    forbid = "forbid (principal, action, resource);"
    changes.update(PolicyDraft("new-one", "second", forbid))
    assert (_bound(chat_runtime).policy("new-one").statement, _bound(chat_runtime).policy("new-one").description) == (
        forbid, "second")
    changes.delete("new-one")
    assert _bound(chat_runtime).policy("new-one") is None
    changes.set_mode("LOG_ONLY")
    assert _bound(chat_runtime).enforcement_mode == "LOG_ONLY"
    with pytest.raises(CloudError, match="neither ENFORCE nor LOG_ONLY"):
        changes.set_mode("OFF")


def test_a_statement_the_engine_refuses_is_the_services_error_and_nothing_is_stored(chat_runtime):
    bound = _bound(chat_runtime)
    changes = admin_changes(chat_runtime.clients.control(), bound.name, bound.gateway_arn, _user("alice"), ("alice",))
    with pytest.raises(CloudError) as refused:
        changes.update(PolicyDraft("everyone-reads-orders", "", "permit (principal, action, resource) when { x };"))
    assert refused.value.code == "InvalidParameter.Definition"
    assert "the Cedar engine refused the statement" in refused.value.message
    assert _bound(chat_runtime) == bound


def test_no_change_object_for_someone_who_is_not_an_administrator(chat_runtime):
    bound = _bound(chat_runtime)
    for user in (_user("bob"), None):
        with pytest.raises(PolicyChangeNotAllowed, match="APP_ADMINS: alice"):
            admin_changes(chat_runtime.clients.control(), bound.name, bound.gateway_arn, user, ("alice",))


# -- the decision log ----------------------------------------------------------------------------------------------
class _Log:
    def __init__(self, answer: Any) -> None:
        self.answer, self.asked = answer, []

    def gateway_decisions(self, **filters: Any) -> list[dict[str, Any]]:
        self.asked.append(filters)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_recent_decisions_pass_the_filters_and_read_each_record():
    log = _Log([{"id": 2, "time": "2026-01-01T00:00:00Z", "timestamp": 1767225600.0, "user": "42", "tool": "getOrder",
                 "decision": "deny", "deciding_policies": ["no-reads"], "mode": "ENFORCE", "policy_set": "s",
                 "forwarded": False, "arguments_digest": "hmac-sha256:…"}])
    [record] = recent_decisions(log, limit=5, user="42", tool="getOrder", decision="DENY")
    assert log.asked == [{"limit": 5, "user": "42", "tool": "getOrder", "decision": "DENY"}]
    assert record == DecisionRecord("2026-01-01T00:00:00Z", 1767225600.0, "42", "getOrder", "DENY", ("no-reads",),
                                    "ENFORCE", "s", False)


@pytest.mark.parametrize("failure", [httpx.ConnectError("refused"), KeyError("decisions")])
def test_an_unreadable_decision_log_is_said(failure):
    with pytest.raises(DecisionLogUnavailable, match="could not be read"):
        recent_decisions(_Log(failure))


def test_the_built_in_local_clouds_log_is_read_through_its_handle(chat_runtime):
    assert recent_decisions(chat_runtime.target.local, user="nobody") == []


# -- Try a request -------------------------------------------------------------------------------------------------
def _context(runtime: AppRuntime, actor: bool = True) -> TrialContext:
    name = _config(runtime)["workload_identity_name"]
    arn = workload_identity_arn(runtime.clients.control(), name) if actor else None
    return TrialContext(runtime.target.gateway.arn, runtime.target.local.urls.issuer("aliyun"), arn)


CASES = [
    ("alice", "createOrder", {"customer_name": "Alice Chen", "items": []}),
    ("alice", "deleteOrder", {"order_id": "order-001"}),
    ("bob", "createOrder", ORDER),
    ("bob", "createOrder", {**ORDER, "customer_name": "Alice Chen"}),
    ("bob", "createOrder", {"items": []}),
    ("bob", "deleteOrder", {"order_id": "order-001"}),
    ("bob", "listOrders", {}),
]


@pytest.mark.parametrize(("login", "tool", "arguments"), CASES)
def test_try_a_request_decides_as_the_gateway_itself_does(chat_runtime, login, tool, arguments):
    bound, user_id = _bound(chat_runtime), _subjects(chat_runtime)[login]
    mine = try_request(bound.statements(), TrialRequest(user_id, tool, arguments), _context(chat_runtime),
                       bound.enforcement_mode)
    gateways = chat_runtime.target.local.gateway_evaluate(
        user_id, tool, arguments, workload_identity=_config(chat_runtime)["workload_identity_name"])
    assert (mine.decision, list(mine.deciding_policies)) == (gateways["decision"], gateways["deciding_policies"])
    assert mine.action == gateways["action"] and mine.context.gateway_arn == gateways["resource"]
    assert mine.context.actor_arn == gateways["principal"]["actor"]


def test_try_a_request_answers(chat_runtime):
    bound, subjects, context = _bound(chat_runtime), _subjects(chat_runtime), _context(chat_runtime)
    policies = bound.statements()

    def tried(login: str, tool: str, arguments: dict[str, Any], mode: str = "ENFORCE",
              at: TrialContext = context) -> Any:
        return try_request(policies, TrialRequest(subjects.get(login, login), tool, arguments), at, mode)

    assert tried("bob", "createOrder", ORDER).deciding_policies == ("bob-orders-for-himself",)
    denied = tried("bob", "createOrder", {**ORDER, "customer_name": "Alice Chen"})
    assert (denied.allowed, denied.deciding_policies, denied.forwarded) == (False, (), False)
    assert tried("bob", "deleteOrder", {}, "LOG_ONLY").forwarded  # LOG_ONLY lets a denied call through
    no_actor = TrialContext(context.gateway_arn, context.issuer, None)
    assert not tried("alice", "listOrders", {}, at=no_actor).allowed  # every permit asks for `principal has actor`
    assert tried("someone-else", "listOrders", {}).deciding_policies == ("everyone-reads-orders",)
    unrepresentable = tried("alice", "createOrder", {"customer_name": "x", "price": 0.123456})
    assert not unrepresentable.allowed and "decimal" in unrepresentable.errors[0]
