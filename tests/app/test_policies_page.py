"""The Policies page, run by AppTest on its own against a real, provisioned localcloud, for real sign-ins: the policy
set bound to the AI Gateway read and changed through the official control-plane client, "Try a request", and the
gateway's decisions after real tool calls through it.

`AppTest.button(...).click()` sends what a crafted websocket message would (a widget value), whether the page drew
the button enabled or not: the non-administrator tests press disabled buttons that way and check that the control
plane did not change.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alibabacloud_agentidentity20250901 import models as ai
from streamlit.testing.v1 import AppTest

import localcloud
from identity import provision
from identity.governance.policies import GATEWAY_TYPE, bound_policy_set
from identity.users import SignedInUser
from tests.conftest import repo_root
from tests.support import local_app_env, open_page, verified_sign_in
from ui import policies_view as view
from ui import runtime as ui_runtime
from ui.runtime import AppRuntime, get_runtime, reset_runtime
from ui.signin import AuthState

PAGE = str(repo_root() / "pages" / "policies.py")
_TEXT_KINDS = ("markdown", "caption", "info", "success", "warning", "error", "title", "subheader")
BOB_ORDERS = "bob-orders-for-himself"
ALICE_MANAGES = "alice-manages-orders"
EVERYONE_READS = "everyone-reads-orders"
PERMIT_LIST = ('permit (\n  principal,\n  action == AIGateway::Action::"mcp-servers.test-order-agent-identity.'
               'listOrders",\n  resource\n);')
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture
def runtime(fresh_cloud: localcloud.LocalCloud, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[AppRuntime]:
    """Local mode on the session's (reset) localcloud, provisioned (the starter policy set bound in ENFORCE)."""
    for _ in local_app_env(fresh_cloud, tmp_path, monkeypatch):
        runtime = get_runtime()
        provision.apply(runtime.clients, runtime.settings)
        yield runtime


def sign_in(runtime: AppRuntime, username: str) -> tuple[SignedInUser, str]:
    """A verified user and their server-side login session."""
    user = verified_sign_in(runtime.target.local, runtime.settings, runtime.target.oauth_discovery_url, username)
    return user, runtime.sessions.create(user, time.time())


def _open(runtime: AppRuntime, username: str | None = "alice") -> AppTest:
    return open_page(PAGE, sign_in(runtime, username)[1] if username else None, 60)


def _texts(at: AppTest) -> str:
    """Every text the page shows, Markdown escapes removed."""
    texts = "\n".join(str(element.value) for kind in _TEXT_KINDS for element in getattr(at, kind))
    return texts.replace("\\", "")


def _errors(at: AppTest) -> str:
    return "\n".join(error.value for error in at.error).replace("\\", "")


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def _click(at: AppTest, key: str, *, crafted: bool = False) -> AppTest:
    """Press a button; `crafted`: as a websocket client would, even one the page drew disabled."""
    button = at.button(key=key)
    if crafted:
        button.proto.disabled = False
    button.click()
    return _run(at)


def _bound(runtime: AppRuntime):
    config = provision.read_config(runtime.settings.config_json)
    return bound_policy_set(runtime.clients.control(), runtime.target.gateway.arn, config["policy_set_name"])


def _statements(runtime: AppRuntime) -> dict[str, str]:
    return _bound(runtime).statements()


def _edit(at: AppTest, name: str, statement: str, *, crafted: bool = False) -> AppTest:
    """Open a policy's editor, type a statement and Save."""
    keys = view.edit_keys(name)
    _click(at, view.policy_key("open", name), crafted=crafted)
    field = at.text_area(key=keys["statement"])
    if crafted:
        field.proto.disabled = False
    field.input(statement)
    return _click(at, keys["save"], crafted=crafted)


def _create(at: AppTest, name: str, statement: str, *, crafted: bool = False) -> AppTest:
    keys = view.new_keys()
    for key, value in ((keys["name"], name), (keys["description"], "made on the page")):
        field = at.text_input(key=key)
        field.proto.disabled = False if crafted else field.proto.disabled
        field.input(value)
    field = at.text_area(key=keys["statement"])
    field.proto.disabled = False if crafted else field.proto.disabled
    field.input(statement)
    return _click(at, keys["save"], crafted=crafted)


def _try(at: AppTest, user: str, tool: str, arguments: str | None = None) -> AppTest:
    at.selectbox(key="policies_try_user").set_value(user)
    at.selectbox(key="policies_try_tool").set_value(tool)
    _run(at)
    if arguments is not None:
        at.text_area(key=f"policies_try_arguments_{tool}").input(arguments)
    return _click(at, "policies_try")


def _order(customer: str) -> str:
    return ('{"customer_name": "' + customer + '", "items": [{"name": "coffee", "quantity": 2, '
            '"unit_price": 3.5}]}')


# -- reading ---------------------------------------------------------------------------------------------------
def test_a_signed_out_visitor_sees_the_sign_in_prompt(runtime):
    at = _open(runtime, None)
    assert "Please sign in to use this page." in _texts(at)
    assert [title.value for title in at.title] == ["Policies"] and not at.code and not at.button


def test_the_bound_set_and_each_policys_statement_are_shown(runtime):
    at = _open(runtime)
    bound = _bound(runtime)
    assert f"Policy set **{bound.name}** is bound to the AI Gateway" in _texts(at)
    assert bound.gateway_arn in _texts(at) and "in **ENFORCE** mode" in _texts(at)
    assert [policy.name for policy in bound.policies] == [EVERYONE_READS, ALICE_MANAGES, BOB_ORDERS]
    assert [code.value for code in at.code] == [policy.statement for policy in bound.policies]
    for policy in bound.policies:
        assert f"**{policy.name}**" in _texts(at) and policy.description in _texts(at)
    assert at.radio(key=view.MODE_KEY).value == "ENFORCE" and not at.radio(key=view.MODE_KEY).disabled
    assert not at.main.info  # alice is an administrator: nothing is read-only


def test_without_a_bound_policy_set_the_page_says_so_and_links_to_setup(runtime):
    config = provision.read_config(runtime.settings.config_json)
    runtime.clients.control().detach_policy_set_from_gateway(ai.DetachPolicySetFromGatewayRequest(
        policy_set_name=config["policy_set_name"], gateway_arn=runtime.target.gateway.arn, gateway_type=GATEWAY_TYPE))
    at = _open(runtime)
    assert "No policy set is bound to the AI Gateway yet." in _texts(at)
    assert "Provision on **Setup**" in _texts(at)
    links = [link.value for link in at.get("page_link")] + [m.value for m in at.markdown]
    assert any("Open Setup" in link for link in links)
    assert not at.code and not at.error


# -- changing, as the administrator ----------------------------------------------------------------------------------
def test_the_administrator_edits_a_policy_and_the_control_plane_changes(runtime):
    before = _statements(runtime)[BOB_ORDERS]
    edited = before.replace('"Bob Li"', '"Alice Chen"')
    at = _edit(_open(runtime), BOB_ORDERS, edited)
    assert _statements(runtime)[BOB_ORDERS] == edited
    assert f"Saved the policy **{BOB_ORDERS}**" in _texts(at)
    assert edited in [code.value for code in at.code]  # the editor closed, the new statement shows
    assert view.edit_keys(BOB_ORDERS)["statement"] not in [area.key for area in at.text_area] and not at.error


def test_the_administrator_creates_a_policy(runtime):
    at = _create(_open(runtime), "anyone-lists", PERMIT_LIST)
    created = _bound(runtime).policy("anyone-lists")
    assert created is not None and created.statement == PERMIT_LIST and created.description == "made on the page"
    assert "Created the policy **anyone-lists**" in _texts(at)
    assert PERMIT_LIST in [code.value for code in at.code]
    assert at.text_input(key=view.new_keys()["name"]).value == ""  # the form starts afresh


def test_a_bad_statement_shows_the_engines_message_saves_nothing_and_keeps_the_text(runtime):
    before = _statements(runtime)
    broken = before[BOB_ORDERS].replace("principal has actor", "principal has actor &&")
    at = _edit(_open(runtime), BOB_ORDERS, broken)
    assert _statements(runtime) == before
    error = _errors(at)
    assert error.startswith("`InvalidParameter.Definition`: ") and "the Cedar engine refused the statement" in error
    assert at.text_area(key=view.edit_keys(BOB_ORDERS)["statement"]).value == broken  # nothing typed is lost
    assert not at.success

    bad_new = "permit (principal, action, resource) when { oops };"
    _create(at, "broken-one", bad_new)
    assert _statements(runtime) == before
    assert "invalid variable: oops" in _errors(at) and "`InvalidParameter.Definition`" in _errors(at)
    assert at.text_area(key=view.new_keys()["statement"]).value == bad_new
    assert at.text_input(key=view.new_keys()["name"]).value == "broken-one"


def test_delete_asks_first_and_then_deletes(runtime):
    at = _click(_open(runtime), view.policy_key("delete", EVERYONE_READS))
    assert f"Delete the policy **{EVERYONE_READS}**" in _texts(at)
    assert EVERYONE_READS in _statements(runtime)  # nothing deleted yet
    _click(at, view.policy_key("cancel", EVERYONE_READS))
    assert not at.warning and EVERYONE_READS in _statements(runtime)

    _click(_click(at, view.policy_key("delete", EVERYONE_READS)), view.policy_key("confirm", EVERYONE_READS))
    assert EVERYONE_READS not in _statements(runtime)
    assert f"Deleted the policy **{EVERYONE_READS}**" in _texts(at)
    assert len(at.code) == 2 and not at.warning


def test_the_mode_switch_changes_the_gateways_enforcement_mode(runtime):
    at = _open(runtime)
    at.radio(key=view.MODE_KEY).set_value("LOG_ONLY")
    _run(at)
    assert _bound(runtime).enforcement_mode == "LOG_ONLY"
    assert "in **LOG_ONLY** mode" in _texts(at) and "now runs in **LOG_ONLY** mode" in _texts(at)
    at.radio(key=view.MODE_KEY).set_value("ENFORCE")
    _run(at)
    assert _bound(runtime).enforcement_mode == "ENFORCE"


# -- Try a request -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("user", "customer", "verdict"), [
    ("alice (Alice Chen)", "Alice Chen", f"**Allow**: permitted by `{ALICE_MANAGES}`"),
    ("bob (Bob Li)", "Bob Li", f"**Allow**: permitted by `{BOB_ORDERS}`"),
    ("bob (Bob Li)", "Alice Chen", "**Deny**: no policy permits it (denied by default)"),
])
def test_try_a_request_answers_as_the_gateway_would(runtime, user, customer, verdict):
    at = _try(_open(runtime), user, "createOrder", _order(customer))
    assert verdict in _texts(at)
    subject = dict((f"{login} ({name})", sub) for login, name, sub in runtime.target.local.demo_users)[user]
    details = _texts(at)
    assert f'AgentIdentity::OAuthUser::"{subject}"' in details
    assert "mcp-servers.test-order-agent-identity.createOrder" in details
    assert ":workloadidentitydirectory/default/workloadidentity/workload-" in details  # the actor: the WI's ARN
    assert runtime.target.local.urls.issuer("aliyun") in details


def test_try_a_request_follows_an_edit_and_uses_the_default_arguments(runtime):
    at = _try(_open(runtime), "bob (Bob Li)", "createOrder")  # the default order is in Alice Chen's name
    assert "**Deny**" in _texts(at)
    edited = _statements(runtime)[BOB_ORDERS].replace('"Bob Li"', '"Alice Chen"')
    _edit(at, BOB_ORDERS, edited)
    _click(at, "policies_try")
    assert f"**Allow**: permitted by `{BOB_ORDERS}`" in _texts(at)


def test_another_user_id_and_bad_json_are_said_inline(runtime):
    at = _open(runtime)
    at.selectbox(key="policies_try_user").set_value(view.OTHER_USER)
    _run(at)
    at.text_input(key="policies_try_user_id").input("user_nobody")
    at.selectbox(key="policies_try_tool").set_value("listOrders")
    _run(at)
    _click(at, "policies_try")
    assert f"**Allow**: permitted by `{EVERYONE_READS}`" in _texts(at)
    assert 'AgentIdentity::OAuthUser::"user_nobody"' in _texts(at)

    at.text_area(key="policies_try_arguments_listOrders").input('{"status": ')
    _click(at, "policies_try")
    assert "The arguments are not valid JSON" in _errors(at) and "Allow" not in _texts(at)
    at.text_area(key="policies_try_arguments_listOrders").input("[1, 2]")
    _click(at, "policies_try")
    assert "must be a JSON object" in _errors(at) and "not an array" in _errors(at)


# -- not an administrator --------------------------------------------------------------------------------------
def test_bob_sees_the_policies_read_only_and_why(runtime):
    at = _open(runtime, "bob")
    assert "Only an administrator may change the policies or the mode (APP_ADMINS: alice)" in _texts(at)
    assert len(at.code) == 3
    for key in (view.policy_key("open", BOB_ORDERS), view.policy_key("delete", BOB_ORDERS), view.new_keys()["save"]):
        assert at.button(key=key).disabled
    assert at.radio(key=view.MODE_KEY).disabled and at.text_area(key=view.new_keys()["statement"]).disabled
    _try(at, "bob (Bob Li)", "createOrder", _order("Bob Li"))  # trying changes nothing: everyone may
    assert f"**Allow**: permitted by `{BOB_ORDERS}`" in _texts(at)


def test_crafted_presses_of_bobs_disabled_controls_change_nothing(runtime):
    before = _bound(runtime)
    at = _open(runtime, "bob")

    for key in (view.policy_key("open", BOB_ORDERS), view.policy_key("delete", ALICE_MANAGES)):
        _click(at, key, crafted=True)
    at.session_state[view.STATE_KEY].editing = BOB_ORDERS  # the editor and the delete question forced open
    at.session_state[view.STATE_KEY].deleting = ALICE_MANAGES
    _run(at)
    assert at.text_area(key=view.edit_keys(BOB_ORDERS)["statement"]).disabled
    _click(at, view.edit_keys(BOB_ORDERS)["save"], crafted=True)
    _click(at, view.policy_key("confirm", ALICE_MANAGES), crafted=True)
    _create(at, "bob-may-do-anything", "permit (principal, action, resource);", crafted=True)
    mode = at.radio(key=view.MODE_KEY)
    mode.proto.disabled = False
    mode.set_value("LOG_ONLY")
    _run(at)

    assert _bound(runtime) == before
    assert at.radio(key=view.MODE_KEY).value == "ENFORCE"  # what the gateway says, not what was sent
    assert not at.success


def _admins(monkeypatch: pytest.MonkeyPatch, names: str) -> None:
    """APP_ADMINS changed: the next use of the runtime reads the settings again."""
    monkeypatch.setenv("APP_ADMINS", names)
    reset_runtime()


def test_every_change_is_checked_at_the_moment_of_the_action(runtime, monkeypatch):
    """Each control is drawn while bob is an administrator (enabled), then APP_ADMINS goes back to alice alone
    before the press arrives, as from a stale tab or a crafted message: the change is refused when it is made."""
    before = _bound(runtime)
    refused = "Only an administrator may change the policies or the mode (APP_ADMINS: alice)"
    _admins(monkeypatch, "alice,bob")
    at = _click(_open(runtime, "bob"), view.policy_key("open", BOB_ORDERS))
    at.text_area(key=view.edit_keys(BOB_ORDERS)["statement"]).input("permit (principal, action, resource);")
    _admins(monkeypatch, "alice")
    _click(at, view.edit_keys(BOB_ORDERS)["save"])
    assert refused in _errors(at)

    _admins(monkeypatch, "alice,bob")
    _run(at)
    _admins(monkeypatch, "alice")
    _create(at, "bob-may-do-anything", "permit (principal, action, resource);")
    assert refused in _errors(at)

    _admins(monkeypatch, "alice,bob")
    _click(_run(at), view.policy_key("delete", ALICE_MANAGES))
    _admins(monkeypatch, "alice")
    _click(at, view.policy_key("confirm", ALICE_MANAGES))
    assert refused in _errors(at)

    _admins(monkeypatch, "alice,bob")
    _run(at)
    _admins(monkeypatch, "alice")
    at.radio(key=view.MODE_KEY).set_value("LOG_ONLY")
    _run(at)
    assert refused in _errors(at) and at.radio(key=view.MODE_KEY).value == "ENFORCE"

    assert _bound(runtime) == before
    assert not at.success


def test_an_edit_sent_after_the_administrator_signed_out_elsewhere_changes_nothing(runtime):
    before = _statements(runtime)
    at = _open(runtime)
    _click(at, view.policy_key("open", BOB_ORDERS))
    get_runtime().sessions.delete(at.session_state["auth"].session_id)  # signed out in another tab

    at.text_area(key=view.edit_keys(BOB_ORDERS)["statement"]).input("permit (principal, action, resource);")
    _click(at, view.edit_keys(BOB_ORDERS)["save"])

    assert _statements(runtime) == before
    assert "Please sign in to use this page." in _texts(at)


# -- the decisions ------------------------------------------------------------------------------------------------
def _call_through_gateway(runtime: AppRuntime, user: SignedInUser, tool: str, arguments: dict) -> int:
    """One MCP tools/call POST to the gateway with the user's workload access token (the agent's own token)."""
    wat = runtime.broker.workload_token(user).value
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}
    answer = httpx.post(runtime.target.gateway.mcp_server, json=message, trust_env=False, timeout=20,
                        headers={**MCP_HEADERS, "Authorization": f"Bearer {wat}"})
    return answer.status_code


def test_recent_decisions_after_calls_through_the_gateway(runtime):
    alice, session = sign_in(runtime, "alice")
    bob, _ = sign_in(runtime, "bob")
    assert _call_through_gateway(runtime, alice, "listOrders", {}) == 200  # allowed (then a consent is asked)
    assert _call_through_gateway(runtime, bob, "deleteOrder", {"order_id": "order-001"}) == 403
    assert _call_through_gateway(runtime, bob, "createOrder", {"customer_name": "Bob Li", "items": []}) == 200

    at = open_page(PAGE, session, 60)
    table = next(df.value for df in at.dataframe if list(df.value.columns) == list(view.DECISION_COLUMNS))
    assert list(table["User"]) == ["bob", "bob", "alice"]  # newest first, by login name
    assert list(table["Tool"]) == ["createOrder", "deleteOrder", "listOrders"]
    assert [d.split(" ")[1] for d in table["Decision"]] == ["ALLOW", "DENY", "ALLOW"]
    assert list(table["Deciding policies"]) == [BOB_ORDERS, view.NO_POLICY, EVERYONE_READS]
    assert set(table["Mode"]) == {"ENFORCE"}
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")  # the allow/deny chart

    at.selectbox(key="policies_decisions_decision").set_value("DENY")
    filtered = next(df.value for df in _run(at).dataframe if list(df.value.columns) == list(view.DECISION_COLUMNS))
    assert list(filtered["Tool"]) == ["deleteOrder"]
    at.selectbox(key="policies_decisions_decision").set_value(view.ALL)
    at.selectbox(key="policies_decisions_user").set_value("alice")
    filtered = next(df.value for df in _run(at).dataframe if list(df.value.columns) == list(view.DECISION_COLUMNS))
    assert list(filtered["User"]) == ["alice"]


def test_in_cloud_mode_the_user_is_typed_and_the_decisions_are_said_to_be_in_the_gateways_logs(runtime):
    """The same page against a target that says cloud (the calls still reach this localcloud): no demo users to pick,
    and the real gateway's decisions are in Simple Log Service, which the page cannot read."""
    at = AppTest.from_file(PAGE, default_timeout=60)
    _user, session = sign_in(runtime, "bob")
    ui_runtime._RUNTIME[0] = dataclasses.replace(runtime, target=dataclasses.replace(
        runtime.target, mode="cloud", local=None))
    at.session_state["auth"] = AuthState(session_id=session)
    _run(at)
    assert view.CLOUD_DECISIONS in _texts(at).replace("\\", "")
    assert not at.dataframe and "policies_try_user" not in [box.key for box in at.selectbox]
    bob = dict((login, sub) for login, _name, sub in runtime.target.local.demo_users)["bob"]
    at.text_input(key="policies_try_user_id").input(bob)
    _click(at, "policies_try")
    assert "**Deny**: no policy permits it" in _texts(at)  # createOrder in Alice Chen's name
