"""The Inspect page's pure views, fed by real flows: turns run by the agent against a provisioned localcloud, their
identity calls recorded (and traced) by the broker, consents given by a scripted browser."""

from __future__ import annotations

import dataclasses
import re
import time

import pytest

from agent import ChatStore, recorded
from agent.history import TURN_ID, trim_history
from identity.broker import ConsentRequired, CredentialBroker
from identity.broker.activity import Activity, Trace, current_trace, tracing
from identity.broker.cache import CacheKey
from tests.agent.conftest import *  # noqa: F403  (its fixtures: agent_world, broker, approver)
from tests.agent.conftest import AgentWorld, decide, decide_at_orders, forget_consent, mcp_provider, run, turn
from tools import credential_needs
from tools.documents import DINGTALK_SCOPES
from tools.gateway_tools import ORDER_SCOPES
from ui import inspect_view as view
from ui import timeline_view as timeline
from ui.credentials_view import expiry_text

# A double-quoted DOT string as Graphviz reads it: `\"` and `\\` are escapes, anything else but `"` is text.
_DOT_STRING = re.compile(r'"(?:\\.|[^"\\])*"')


def _chat_turn(agent_world: AgentWorld, broker: CredentialBroker, prompt: str, on_consent=None,
               user: str = "alice") -> view.TurnRecord:
    """Run one real turn into a fresh chat store and read it back as the page does."""
    store = ChatStore.in_directory(agent_world.directory / f"inspect-{time.monotonic_ns()}")
    owner = agent_world.users[user].key
    chat = store.create_chat(owner)
    _, futures = run(recorded(store, owner, chat.id, turn(agent_world, broker, prompt, user=user)), on_consent)
    for future in futures:
        future.result()
    [record] = view.turns_of(store.entries(owner, chat.id))
    store.close()
    return record


def _between(steps: list[view.FlowStep]) -> list[view.FlowStep]:
    """The identity steps: everything between the prompt's two opening steps and the tool call at the end."""
    return steps[2:-1]


def test_every_identity_call_of_a_turn_is_traced_to_the_turn_and_its_tool_call(agent_world, broker):
    record = _chat_turn(agent_world, broker, "What's the weather in Beijing?")
    [call] = record.tool_calls
    log = list(reversed(broker.log.of(agent_world.alice.key)))  # oldest first
    assert record.turn_id and all(entry.trace.turn_id == record.turn_id for entry in log)
    # The turn's start: the AI Gateway's tools listed with the workload access token, then is the MCP token held?
    start = [e for e in log if not e.trace.tool_call_id]
    mine = [e for e in log if e.trace.tool_call_id == call.call_id]
    assert start + mine == log and {e.trace.tool for e in mine} == {"weather_search"}
    assert [(e.action, e.outcome) for e in start] == [
        ("GetWorkloadAccessTokenForJWT", "ok"), ("cache", "cache hit"), ("cache", "cache hit"),
        ("AssumeRoleForWorkloadIdentity", "ok"), ("GetResourceOAuth2Token", "ok")]
    assert [(e.action, e.provider, e.outcome) for e in mine] == [
        ("cache", "workload", "cache hit"), ("cache", "sts", "cache hit"),
        ("GetResourceAPIKey", agent_world.settings.api_key_provider_name, "ok")]
    assert view.call_activity(broker.log.of(agent_world.alice.key), call) == mine
    assert view.turn_activity(broker.log.of(agent_world.alice.key), record.turn_id) == log


def test_the_diagram_steps_match_the_flows_activity_log(agent_world, broker):
    record = _chat_turn(agent_world, broker, "What's the weather in Beijing?")
    [call] = record.tool_calls
    entries = view.call_activity(broker.log.of(agent_world.alice.key), call)
    steps = view.flow_steps(record, call, entries)
    assert [(s.source, s.target, s.action) for s in steps[:2]] == [
        (view.USER, view.APP, "asks"), (view.APP, view.AGENT, "runs the turn")]
    assert [(s.action, s.party, s.outcome, s.latency_ms, s.artifact, s.style) for s in _between(steps)] == [
        (e.action, e.provider, e.outcome, e.latency_ms, e.detail, view.CACHE if e.action == "cache" else view.CALL)
        for e in entries]
    assert [(s.source, s.target) for s in _between(steps)] == [
        (view.AGENT, view.AGENT), (view.AGENT, view.AGENT), (view.AGENT, view.IDENTITY)]
    need = next(n for n in credential_needs(agent_world.settings) if n.kind == "api_key")
    key = broker.holdings(agent_world.alice, [need]).credential(need)
    last = steps[-1]
    assert (last.source, last.target, last.action, last.outcome) == (view.AGENT, view.SERVICE, "weather_search", "ok")
    assert last.artifact == call.fingerprint == key.fingerprint
    dot = view.flow_dot(steps)
    assert dot.count("constraint=false") == len(steps)  # one arrow per step
    assert all(view.dot_text(f"{step.action}\n{step.party}") in dot for step in _between(steps))
    assert key.value not in dot


def test_a_consent_is_drawn_with_its_own_steps_and_the_return_routes_calls(agent_world, broker, approver):
    forget_consent(agent_world, broker, *mcp_provider(agent_world))
    record = _chat_turn(agent_world, broker, "What time is it in Shanghai?",
                        lambda event: approver.submit(decide, agent_world, broker, event))
    [call] = record.tool_calls
    assert call.consents == (view.ConsentRecord(*mcp_provider(agent_world), "completed"),)
    entries = view.call_activity(broker.log.of(agent_world.alice.key), call)
    returned = [e for e in entries if not e.trace.turn_id]  # the /callback route's, made in the browser's thread
    assert [e.action for e in returned] == ["CompleteResourceTokenAuth", "GetResourceOAuth2Token"]
    steps = view.flow_steps(record, call, entries)
    consent = [(s.source, s.target, s.outcome) for s in steps if s.style == view.CONSENT]
    assert consent == [(view.AGENT, view.IDENTITY, "consent required"), (view.IDENTITY, view.USER, " ".join(
        mcp_provider(agent_world)[1])), (view.USER, view.PROVIDER, "completed"), (view.PROVIDER, view.APP,
                                                                                  "session_uri + state"),
        (view.APP, view.IDENTITY, "ok")]
    assert steps[-2].style == view.CACHE and steps[-1].artifact == steps[-2].artifact == call.fingerprint
    assert [(s.action, s.party) for s in steps].count(("GetResourceOAuth2Token", call.provider)) == 2  # asked, got



# -- a call through the AI Gateway --------------------------------------------------------------------------------
def _gateway_flow(agent_world: AgentWorld, broker: CredentialBroker, record: view.TurnRecord,
                  user: str = "alice") -> tuple[view.ToolCallRecord, list[view.FlowStep]]:
    """The page's drawing of the turn's one call: its activity and the gateway's decisions, as localcloud has them."""
    [call] = record.tool_calls
    signed_in = agent_world.users[user]
    decisions = view.decisions_for(call, agent_world.cloud.gateway_decisions(user=signed_in.subject, tool=call.tool),
                                   signed_in.subject)
    return call, view.gateway_flow_steps(record, call, view.call_activity(broker.log.of(signed_in.key), call),
                                         decisions)


def test_an_order_call_is_drawn_through_the_gateway_its_decision_and_the_token_it_injected(agent_world, broker,
                                                                                          approver):
    record = _chat_turn(agent_world, broker, "list my orders",
                        lambda event: approver.submit(decide_at_orders, agent_world, broker, event))
    call, steps = _gateway_flow(agent_world, broker, record)
    assert (call.via, call.consents) == ("AI Gateway", (view.ConsentRecord("mcp-order-oauth2", ORDER_SCOPES,
                                                                           "completed"),))
    arrows = [(s.source, s.target, s.action) for s in steps[2:]]
    wat = (view.AGENT, view.AGENT, "cache")  # the token for the ID token, fetched when the turn listed the tools
    asked = [(view.AGENT, view.GATEWAY, "tools/call listOrders"), (view.GATEWAY, view.GATEWAY, "Cedar decision")]
    assert arrows == [wat, *asked, (view.GATEWAY, view.IDENTITY, "GetResourceOAuth2Token"),
                      (view.GATEWAY, view.AGENT, "-32042 URL elicitation"),
                      (view.IDENTITY, view.USER, "authorization URL → Authorize button"),
                      (view.USER, view.PROVIDER, "signs in and decides"),
                      (view.PROVIDER, view.APP, "back through Agent Identity to /callback"),
                      (view.APP, view.IDENTITY, "CompleteResourceTokenAuth"), wat, *asked,  # the app fetches nothing
                      (view.GATEWAY, view.IDENTITY, "injected token (GetResourceOAuth2Token)"),
                      (view.GATEWAY, view.SERVICE, "listOrders")]
    decision = next(s for s in steps if s.action == "Cedar decision")
    assert (decision.outcome, decision.party) == ("ALLOW · ENFORCE", "everyone-reads-orders")
    assert decision.artifact.startswith("policy set orders-")
    injected = next(s for s in steps if s.action.startswith("injected token"))
    assert (injected.party, injected.artifact) == ("mcp-order-oauth2", view.NEVER_HELD)
    assert steps[-1].latency_ms == call.latency_ms and steps[3].artifact == call.fingerprint
    dot = view.flow_dot(steps, {view.GATEWAY: "test-order-agent-identity"}, view.GATEWAY_LANES)
    assert "AI Gateway\\ntest-order-agent-identity" in dot
    assert broker.workload_token(agent_world.alice).value not in dot


def test_a_denied_call_stops_at_the_decision_with_its_policies(agent_world, broker):
    record = _chat_turn(agent_world, broker, "delete order 12345678", user="bob")
    call, steps = _gateway_flow(agent_world, broker, record, "bob")
    assert (call.ok, call.denied_by) == (False, ())
    assert [(s.source, s.target, s.action) for s in steps[-3:]] == [
        (view.AGENT, view.GATEWAY, "tools/call deleteOrder"), (view.GATEWAY, view.GATEWAY, "Cedar decision"),
        (view.GATEWAY, view.AGENT, "403 AccessDenied")]
    assert (steps[-2].outcome, steps[-2].party, steps[-2].style) == ("DENY · ENFORCE", "no policy permits it",
                                                                     view.FAILURE)
    assert not any(view.SERVICE in (s.source, s.target) for s in steps)  # nothing reached the order service


def _record(at: float, **fields) -> dict:
    return {"timestamp": at, "user": "u1", "tool": "deleteOrder", "decision": "DENY", "deciding_policies": ["f1"],
            "policy_set": "orders", "mode": "ENFORCE", "forwarded": False, **fields}


def test_decisions_are_found_by_user_tool_and_the_calls_time():
    call = _call(tool="deleteOrder", via="AI Gateway", started_at=100.0, finished_at=101.0)
    records = [_record(100.5), _record(100.6, user="u2"), _record(100.7, tool="getOrder"), _record(150.0),
               _record(99.5, decision="ALLOW", forwarded=True)]
    assert [(d.at, d.decision) for d in view.decisions_for(call, records, "u1")] == [(99.5, "ALLOW"), (100.5, "DENY")]
    assert view.decisions_for(dataclasses.replace(call, started_at=0.0), records, "u1") == []  # stored before times


def test_without_decision_records_the_card_is_drawn_and_an_injected_fingerprint_is_shown_when_recorded():
    turn_record = view.TurnRecord("t", "delete order 1")
    denied = _call(via="AI Gateway", ok=False, denied_by=("f1", "f2"))
    steps = view.gateway_flow_steps(turn_record, denied, [], [])
    assert [(s.action, s.party or s.artifact) for s in steps[-2:]] == [("Cedar decision", "f1, f2"),
                                                                       ("403 AccessDenied", "f1, f2")]
    allowed = _call(via="AI Gateway", started_at=1.0, finished_at=2.0)
    drawn = view.gateway_flow_steps(turn_record, allowed, [], [])
    assert [s.action for s in drawn[2:]] == ["tools/call tool", "injected token (GetResourceOAuth2Token)", "tool"]
    recorded_fp = view.GatewayDecision.of(_record(1.5, decision="ALLOW", forwarded=True,
                                                  injected_fingerprint="sha256:abcdef0123"))
    injected = view.gateway_flow_steps(turn_record, allowed, [], [recorded_fp])[-2]
    assert injected.artifact == f"sha256:abcdef0123 · {view.NEVER_HELD}"
    log_only = view.GatewayDecision.of(_record(1.5, mode="LOG_ONLY", forwarded=True))
    through = view.gateway_flow_steps(turn_record, allowed, [], [log_only])
    assert through[-3].outcome == "DENY · LOG_ONLY" and through[-1].target == view.SERVICE  # logged, not enforced


def test_cache_hits_consents_and_failures_look_different():
    def step(outcome: str, action: str = "GetResourceAPIKey") -> view.FlowStep:
        entry = Activity(1.0, ("i", "s"), action, "p", outcome, 2.0, "", Trace("t", "c", "tool"))
        return view.flow_steps(view.TurnRecord("t", "q"), _call(), [entry])[2]

    assert [step(o).style for o in ("ok", "NoPermission", "consent required")] == [
        view.CALL, view.FAILURE, view.CONSENT]
    assert step("cache hit", "cache").style == view.CACHE
    assert step("refused", "CompleteResourceTokenAuth").style == view.FAILURE
    dot = view.flow_dot([step("ok"), step("cache hit", "cache"), step("NoPermission"), step("consent required")])
    arrows = [line for line in dot.splitlines() if "constraint=false" in line]
    looks = {(re.search(r' color="(#\w+)"', a).group(1), re.search(r"style=(\w+)", a).group(1)) for a in arrows}
    assert len(arrows) == len(looks) == 4  # each kind of step in its own colour and line
    assert "Legend" in dot and all(f'label="{text}"' in dot for _, text in view._LEGEND)


def _call(**overrides) -> view.ToolCallRecord:
    values = {"turn_id": "t", "call_id": "c", "tool": "tool", "ok": True, "credential_kind": "api_key",
              "provider": "p", "latency_ms": 1.0, "fingerprint": "sha256:0123456789"}
    return view.ToolCallRecord(**{**values, **overrides})


@pytest.mark.parametrize("name", [
    'evil"]; injected [label="pwned', "ends with a backslash\\", "two\nlines\r\nand\ttab", "<b>html</b> & {x|y}",
    "graphviz escapes \\N \\G \\l \\", 'quote then backslash "\\"', "\x00nul \x1b[31m",
])
def test_names_from_configuration_cannot_break_or_inject_into_the_dot(name):
    steps = view.flow_steps(view.TurnRecord("t", name), _call(tool=name, provider=name, fingerprint=name), [
        Activity(1.0, ("i", "s"), name, name, name, 1.0, name, Trace("t", "c", name))])
    dot = view.flow_dot(steps, {view.USER: name, view.PROVIDER: name, view.SERVICE: name})
    benign = view.flow_dot(view.flow_steps(view.TurnRecord("t", "q"), _call(), [
        Activity(1.0, ("i", "s"), "a", "a", "a", 1.0, "a", Trace("t", "c", "a"))]), {view.USER: "u"})
    outside = _DOT_STRING.sub('""', dot)
    assert outside == _DOT_STRING.sub('""', benign)  # the same statements and attributes, whatever the names
    assert "pwned" not in outside and "injected" not in outside
    label = view.dot_text(name)
    assert "\n" not in label and "\r" not in label and not re.search(r'(?<!\\)(\\\\)*"', label)
    assert re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), label) == "".join(
        c if c == "\n" or c >= " " else " " for c in name.replace("\r\n", "\n"))


def test_a_chat_stored_before_turn_ids_still_lists_its_turns_without_a_flow(agent_world, broker):
    store = ChatStore.in_directory(agent_world.directory / "old-chat")
    chat = store.create_chat(agent_world.alice.key)
    store.append_message(agent_world.alice.key, chat.id, {"role": "user", "content": "old question"})
    store.append_card(agent_world.alice.key, chat.id, {"type": "ToolFinished", "call_id": "c1",
                                                       "tool": "weather_search", "ok": True,
                                                       "credential_kind": "api_key", "provider": "p",
                                                       "latency_ms": 3.0, "summary": "sunny"})
    [record] = view.turns_of(store.entries(agent_world.alice.key, chat.id))
    store.close()
    assert record.turn_id == "" and record.tool_calls[0].tool == "weather_search"
    traced = Activity(1.0, agent_world.alice.key, "GetResourceAPIKey", "p", "ok", 1.0, "", Trace("", "c1", "x"))
    assert view.call_activity([traced], record.tool_calls[0]) == []
    assert view.turn_activity([traced], record.turn_id) == []


def test_the_turn_id_is_stored_with_the_prompt_but_never_sent_to_the_model(agent_world, broker):
    store = ChatStore.in_directory(agent_world.directory / "turn-ids")
    chat = store.create_chat(agent_world.alice.key)
    run(recorded(store, agent_world.alice.key, chat.id, turn(agent_world, broker, "What's on my schedule today?")))
    [prompt] = [m for m in store.messages(agent_world.alice.key, chat.id) if m["role"] == "user"]
    assert len(prompt[TURN_ID]) == 16
    assert all(TURN_ID not in message for message in store.history(agent_world.alice.key, chat.id))
    assert trim_history([{"role": "user", "content": "q", TURN_ID: "t"}]) == [{"role": "user", "content": "q"}]
    store.close()


def test_tracing_labels_only_what_runs_inside_it():
    assert current_trace() == Trace()
    with tracing("turn", "call", "tool") as trace:
        inside = Activity(1.0, ("i", "s"), "a", "", "ok", 1.0)
    outside = Activity(1.0, ("i", "s"), "a", "", "ok", 1.0)
    assert inside.trace == trace == Trace("turn", "call", "tool") and outside.trace == Trace()


# -- the timeline ---------------------------------------------------------------------------------------------
def test_the_timeline_holds_every_live_credential_and_pending_consent(agent_world, broker, approver):
    alice = agent_world.alice
    forget_consent(agent_world, broker, *mcp_provider(agent_world))
    for prompt in ("What's the weather in Beijing?", "What's on my schedule today?"):
        run(turn(agent_world, broker, prompt))
    _chat_turn(agent_world, broker, "What time is it in Shanghai?",
               lambda event: approver.submit(decide, agent_world, broker, event))
    with pytest.raises(ConsentRequired):  # asked, not yet given: a pending consent
        broker.oauth2_token(alice, agent_world.settings.dingtalk_oauth_provider_name, DINGTALK_SCOPES, force=True)
    now = broker.clock()
    held = broker.holdings(alice, credential_needs(agent_world.settings)).held()
    assert {type(c).__name__ for c in held} == {"WorkloadAccessToken", "StsCredentials", "ApiKey", "OAuth2Token"}
    rows = timeline.lifetimes(alice, held, broker.consents.of(alice.key), broker.log.of(alice.key), now)
    by_print = {row.fingerprint: row for row in rows if row.fingerprint}
    assert all(by_print[c.fingerprint].end == c.expires_at and by_print[c.fingerprint].status == timeline.LIVE
               and by_print[c.fingerprint].start <= now for c in held)
    assert rows[0].label == timeline.ID_TOKEN and rows[0].end == alice.expires_at
    [pending] = [row for row in rows if row.kind == timeline.CONSENT]
    assert pending.label.endswith(agent_world.settings.dingtalk_oauth_provider_name) and pending.end > now
    mcp = next(row for row in rows if row.label == f"{timeline.OAUTH2} · {mcp_provider(agent_world)[0]}")
    assert mcp.scopes == " ".join(mcp_provider(agent_world)[1])
    frame = timeline.timeline_frame(rows, now)
    assert list(frame["Credential"]) == [row.label for row in rows]
    values = [c.value for c in held if hasattr(c, "value")] + [c.access_key_secret for c in held
                                                                 if hasattr(c, "access_key_secret")]
    assert not any(value in frame.to_csv() for value in values)


def test_expired_credentials_are_marked_and_the_breaking_point_is_the_first_live_expiry(agent_world, broker):
    run(turn(agent_world, broker, "What's the weather in Beijing?"))
    workload = broker.workload()
    held = [broker.cache.peek(CacheKey(agent_world.alice.key, workload, kind, provider)) for kind, provider in
            (("workload", ""), ("api_key", agent_world.settings.api_key_provider_name))]
    wat, key = held
    later = key.expires_at + 1  # the API key's cache entry is over, the workload token still lives
    rows = timeline.lifetimes(agent_world.alice, held, [], broker.log.of(agent_world.alice.key), later)
    assert {row.label: row.status for row in rows}[f"{timeline.API_KEY} · {key.provider}"] == timeline.EXPIRED
    assert expiry_text(min(wat.expires_at, agent_world.alice.expires_at), later) in timeline.breaking_point(rows, later)
    assert timeline.breaking_point(rows, agent_world.alice.expires_at + 10) == \
        "Nothing is live: the next identity call starts afresh."


def test_the_chart_has_a_bar_per_row_and_now_as_a_rule():
    now = time.time()
    rows = [timeline.Lifetime("ID token", timeline.ID_TOKEN, now - 60, now + 600, timeline.LIVE, "openid")]
    spec = timeline.timeline_chart(timeline.timeline_frame(rows, now), now).to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["bar", "rule", "text"]
    assert any("Scopes" in str(layer["encoding"].get("tooltip")) for layer in spec["layer"])
