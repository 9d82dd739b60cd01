"""The Policies page's view model, without Streamlit or a cloud."""

from __future__ import annotations

import json

import pytest

from identity.errors import CloudError, SettingsError
from identity.governance.decisions import DecisionRecord, TrialAnswer, TrialContext, TrialRequest
from identity.governance.policies import BoundPolicySet, Policy
from identity.governance.starter import ORDER_TOOLS
from localcloud.cedar import validate_statement
from ui import policies_view as view

DEMO = (("alice", "Alice Chen", "111"), ("bob", "Bob Li", "222"))
GATEWAY = "acs:apig:cn-beijing:123:gateway/gw-localcloud"


def _record(user: str, decision: str, timestamp: float, policies: tuple[str, ...] = (), tool: str = "getOrder"
            ) -> DecisionRecord:
    return DecisionRecord("", timestamp, user, tool, decision, policies, "ENFORCE")


def _answer(allowed: bool, deciding: tuple[str, ...] = (), mode: str = "ENFORCE",
            errors: tuple[str, ...] = ()) -> TrialAnswer:
    context = TrialContext(GATEWAY, "http://127.0.0.1:1/oauth/aliyun", "acs:agentidentity:cn-beijing:123:wi")
    return TrialAnswer(TrialRequest("222", "createOrder", {}), context, allowed, deciding, errors,
                       "mcp-servers.test-order-agent-identity.createOrder", mode)


# -- Try a request's inputs ---------------------------------------------------------------------------------------
def test_every_tool_has_default_arguments_and_create_order_is_alices_coffee():
    for tool in ORDER_TOOLS:
        assert isinstance(view.parse_arguments(view.default_arguments(tool)), dict)
    assert json.loads(view.default_arguments("createOrder")) == {
        "customer_name": "Alice Chen", "items": [{"name": "coffee", "quantity": 2, "unit_price": 3.5}]}


@pytest.mark.parametrize(("text", "said"), [
    ('{"a": ', "not valid JSON: Expecting value (line 1, column 7)"),
    ("[1]", "must be a JSON object ({…}), not an array"),
    ('"x"', "not a string"),
    ("3", "not a number or null"),
    ("null", "not a number or null"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
])
def test_arguments_that_are_not_a_json_object_are_refused_with_a_reason(text, said):
    with pytest.raises(view.ArgumentsError) as refused:
        view.parse_arguments(text)
    assert said in str(refused.value)


def test_empty_arguments_are_none_and_an_object_is_itself():
    assert view.parse_arguments("  \n") == {}
    assert view.parse_arguments('{"customer_name": "张三"}') == {"customer_name": "张三"}


def test_a_demo_user_is_chosen_by_label_and_anyone_else_by_id():
    assert view.user_choices(DEMO) == ["alice (Alice Chen)", "bob (Bob Li)", view.OTHER_USER]
    assert view.chosen_user_id("bob (Bob Li)", "ignored", DEMO) == "222"
    assert view.chosen_user_id(view.OTHER_USER, "  user_x  ", DEMO) == "user_x"
    assert view.chosen_user_id(None, "user_y", ()) == "user_y"


# -- the verdict --------------------------------------------------------------------------------------------------
def test_an_allow_names_its_policies():
    level, text = view.trial_verdict(_answer(True, ("alice-manages-orders",)))
    assert level == "success" and text.startswith("**Allow**: permitted by `alice-manages-orders`.")


def test_a_deny_says_why_and_what_the_gateway_does_in_its_mode():
    level, text = view.trial_verdict(_answer(False))
    assert level == "error" and "no policy permits it (denied by default)" in text and "403" in text
    assert "forbidden by `no-deletes`" in view.trial_verdict(_answer(False, ("no-deletes",)))[1]
    assert "lets the call through" in view.trial_verdict(_answer(False, mode="LOG_ONLY"))[1]


def test_the_details_name_the_cedar_request_and_the_engines_errors():
    details = view.trial_details(_answer(False, errors=("input.price: 0.123456 is not a Cedar decimal",)))
    assert 'principal `AgentIdentity::OAuthUser::"222"`' in details
    assert f"resource `{GATEWAY}`" in details and "actor `acs:agentidentity:cn-beijing:123:wi`" in details
    assert "engine: input\\.price" in details  # escaped: the engine quotes what was typed
    answer = _answer(True)
    no_actor = TrialAnswer(answer.request, TrialContext(GATEWAY, None, None), True, (), (), answer.action, "ENFORCE")
    assert "no workload identity is provisioned" in view.trial_details(no_actor)


# -- decisions ---------------------------------------------------------------------------------------------------
def test_the_decision_table_names_demo_users_by_login_and_others_by_id():
    records = [_record("222", "DENY", 1767225725.0), _record("user_x", "ALLOW", 1767225600.0, ("a", "b"))]
    table = view.decision_table(records, DEMO)
    assert list(table.columns) == list(view.DECISION_COLUMNS)
    assert list(table["User"]) == ["bob", "user_x"]
    assert list(table["Time"]) == ["2026-01-01 00:02:05", "2026-01-01 00:00:00"]
    assert list(table["Decision"]) == ["🔴 DENY", "🟢 ALLOW"]
    assert list(table["Deciding policies"]) == [view.NO_POLICY, "a, b"]


def test_decisions_are_counted_per_minute_oldest_first():
    records = [_record("1", "DENY", 1767225725.0), _record("1", "ALLOW", 1767225601.0),
               _record("2", "ALLOW", 1767225659.0), _record("2", "DENY", 1767225600.0)]
    counts = view.decisions_per_minute(records)
    assert list(counts.columns) == ["ALLOW", "DENY"]
    assert [str(minute) for minute in counts.index] == ["2026-01-01 00:00:00", "2026-01-01 00:02:00"]
    assert counts.to_dict("list") == {"ALLOW": [2, 0], "DENY": [1, 1]}
    assert view.decisions_per_minute([]).empty


def test_the_filters_map_all_to_none_and_a_login_to_its_subject():
    assert view.decision_filters(view.ALL, view.ALL, view.ALL, DEMO) == (None, None, None)
    assert view.decision_filters("bob", "getOrder", "DENY", DEMO) == ("222", "getOrder", "DENY")
    assert view.login_choices(DEMO) == [view.ALL, "alice", "bob"]


# -- state and texts ---------------------------------------------------------------------------------------------
def test_a_failed_action_is_said_under_its_form_and_a_success_closes_it():
    state = view.PoliciesState(owner=("iss", "alice"), editing="p1")
    error = CloudError("InvalidParameter.Definition", "the Cedar engine refused the statement: unexpected token `*`")
    state.refused("p1", error)
    assert state.editing == "p1" and state.notice is None
    assert state.form_errors["p1"].startswith("`InvalidParameter.Definition`: ")
    assert "\\`\\*\\`" in state.form_errors["p1"]  # the engine's text is inert: no code span, no emphasis
    state.trial = _answer(False)
    state.done("p1", view.saved_message("p1"))
    assert state.editing is None and "p1" not in state.form_errors and state.notice.level == "success"
    assert state.trial is None  # a verdict of the policies before the change is not shown after it
    state.refused(None, SettingsError("gone"))
    assert state.notice == view.Notice("error", "gone")


def test_another_users_sign_in_gets_a_fresh_state():
    state = view.PoliciesState(owner=("iss", "alice"), editing="p1")
    assert state.for_user(("iss", "alice")) is state
    assert state.for_user(("iss", "bob")) == view.PoliciesState(owner=("iss", "bob"))


def test_the_caption_names_the_set_the_gateway_and_the_mode():
    bound = BoundPolicySet(GATEWAY, "orders_1", "arn:set", "LOG_ONLY", (Policy("p", "", "permit (principal, action, "
                                                                                "resource);"),))
    caption = view.set_caption(bound)
    assert "Policy set **orders\\_1**" in caption and f"`{GATEWAY}`" in caption and "**LOG\\_ONLY** mode" in caption
    assert "holds 1 policy;" in caption and "only logs" in caption


def test_the_new_policy_template_is_a_statement_the_engine_accepts():
    template = view.new_policy_template(GATEWAY)
    validate_statement(template)
    assert f'AIGateway::Gateway::"{GATEWAY}"' in template and "principal has actor" in template


def test_widget_keys_of_different_policies_and_actions_never_meet():
    names = ["a", "a_statement", "confirm_a", "a-save", "new"]
    keys = [key for name in names for key in view.edit_keys(name).values()]
    keys += [view.policy_key(action, name) for name in names for action in ("open", "delete", "confirm", "cancel")]
    keys += list(view.new_keys().values())
    assert len(keys) == len(set(keys))
    assert view.new_keys()["form"] == view.NEW_FORM  # the New form's errors are kept under its own key


def test_the_chart_stacks_allowed_and_denied_calls_per_minute_in_their_colours():
    records = [_record("1", "ALLOW", 1767225601.0), _record("1", "DENY", 1767225725.0)]
    spec = view.decisions_chart(records).to_dict()
    rows = spec["datasets"][spec["data"]["name"]]
    assert [(row["Minute"], row["Decision"], row["Calls"]) for row in rows] == [
        ("00:00", "ALLOW", 1), ("00:02", "ALLOW", 0), ("00:00", "DENY", 0), ("00:02", "DENY", 1)]
    assert spec["encoding"]["x"]["sort"] == ["00:00", "00:02"]
    assert spec["encoding"]["color"]["scale"] == {"domain": ["ALLOW", "DENY"], "range": ["#2e7d32", "#c62828"]}
    two_days = view.decisions_chart([*records, _record("1", "DENY", 1767225600.0 + 86400)]).to_dict()
    assert two_days["encoding"]["x"]["sort"][-1] == "01-02 00:00"
