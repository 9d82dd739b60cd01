"""Whole turns with the order tools behind localcloud's AI Gateway: the local model routes the order prompts, the
gateway's starter policies (everyone lists and reads, alice creates and deletes, bob creates in his own name only)
decide, the gateway's -32042 consent is given in the order service's own pages, and the order service's token never
reaches the app."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from typing import Any

from agent import (
    ChatStore,
    ConsentNeeded,
    ConsentSettled,
    ConsentWaiting,
    McpUnavailable,
    MessageAdded,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnDone,
    recorded,
    stream_reply,
)
from agent.history import trim_history
from agent.toolbox import GATEWAY_TOOLS
from identity.broker.cache import CacheKey
from identity.cloud import GatewayTarget
from localcloud.services.agentidentitydata.records import VaultKey, delete_vaulted, get_vaulted
from localcloud.store import open_store
from tests.agent.conftest import decide_at_orders, run, turn
from tests.support import free_port
from tools.gateway_tools import GATEWAY, NOT_LISTED, ORDER_SCOPES
from ui.credentials_view import is_trusted_authorization_url

ORDER_PROVIDER = "mcp-order-oauth2"


def _of(events: list[Any], kind: type) -> list[Any]:
    return [event for event in events if isinstance(event, kind)]


def _finished(events: list[Any]) -> ToolFinished:
    [finished] = _of(events, ToolFinished)
    return finished


def _done(events: list[Any]) -> TurnDone:
    assert isinstance(events[-1], TurnDone)
    return events[-1]


def _tool_result(events: list[Any]) -> str:
    [message] = [e.message for e in _of(events, MessageAdded) if e.message["role"] == "tool"]
    return message["content"]


def _approving(agent_world, broker, approver, user: str = "alice"):
    return lambda event: approver.submit(decide_at_orders, agent_world, broker, event, "approve", user)


def _ask(agent_world, broker, approver, prompt: str, user: str = "alice", **overrides: Any) -> list[Any]:
    """A turn, approving at the order service whatever consent it asks for."""
    events, futures = run(turn(agent_world, broker, prompt, user=user, **overrides),
                          _approving(agent_world, broker, approver, user))
    for future in futures:
        future.result()
    return events


def _decisions(agent_world, user: str, tool: str) -> list[dict[str, Any]]:
    return agent_world.cloud.gateway_decisions(user=agent_world.users[user].subject, tool=tool)


# -- alice: everything --------------------------------------------------------------------------------------------
def test_alices_first_order_call_asks_for_consent_at_the_order_service_and_resumes_by_itself(agent_world, broker,
                                                                                              approver):
    events = _ask(agent_world, broker, approver, "list my orders")
    kinds = [type(e) for e in events if not isinstance(e, TextDelta | MessageAdded | ConsentWaiting)]
    assert kinds == [ToolStarted, ConsentNeeded, ConsentSettled, ToolFinished, TurnDone]
    started, needed = _of(events, ToolStarted)[0], _of(events, ConsentNeeded)[0]
    assert (started.tool, started.arguments, started.via) == ("listOrders", {}, GATEWAY)
    assert (needed.tool, needed.provider, needed.scopes) == ("listOrders", ORDER_PROVIDER, ORDER_SCOPES)
    assert is_trusted_authorization_url(needed.authorization_url, agent_world.target)  # the data plane's own page
    assert _of(events, ConsentSettled)[0].status == "completed"
    finished = _finished(events)
    assert (finished.ok, finished.via, finished.provider, finished.denied_by) == (True, GATEWAY, ORDER_PROVIDER, None)
    assert json.loads(_tool_result(events)) == [] and _done(events).text == "There are no orders."
    assert [d["decision"] for d in _decisions(agent_world, "alice", "listOrders")] == ["ALLOW", "ALLOW"]


def test_alice_creates_reads_and_deletes_an_order(agent_world, broker, approver):
    created = _ask(agent_world, broker, approver, "create an order for 2 coffees at 3.5 for Alice Chen")
    assert _of(created, ToolStarted)[0].arguments == {
        "customer_name": "Alice Chen", "items": [{"name": "coffee", "quantity": 2, "unit_price": 3.5}]}
    order = json.loads(_tool_result(created))
    assert (order["customer_name"], order["total_amount"], order["status"]) == ("Alice Chen", 7.0, "pending")
    assert _done(created).text == f"Created order {order['id']}: Alice Chen, 2 × coffee at 3.5 (total 7, pending)."
    shown = _ask(agent_world, broker, approver, f"show order {order['id']}")
    assert _of(shown, ToolStarted)[0].arguments == {"order_id": order["id"]} and order["id"] in _done(shown).text
    deleted = _ask(agent_world, broker, approver, f"delete order {order['id']}")
    assert (_finished(deleted).tool, _finished(deleted).ok) == ("deleteOrder", True)
    assert _done(deleted).text == f"Deleted order {order['id']}."
    listed = _ask(agent_world, broker, approver, "list my orders")
    assert order["id"] not in _tool_result(listed)


# -- bob: in his own name only -------------------------------------------------------------------------------------
def test_a_consent_declined_at_the_order_service_ends_the_turn_with_a_plain_sentence(agent_world, broker, approver):
    events, futures = run(turn(agent_world, broker, "list my orders", user="bob"),
                          lambda event: approver.submit(decide_at_orders, agent_world, broker, event, "deny", "bob"))
    assert futures[0].result()["error"] == "access_denied"
    assert _of(events, ConsentSettled)[0].status == "declined"
    assert not _finished(events).ok and "did not approve" in _done(events).text


def test_bob_creates_an_order_for_himself_but_not_for_alice(agent_world, broker, approver):
    mine = _ask(agent_world, broker, approver, "create an order for 1 tea at 2 for me", user="bob")
    assert _of(mine, ToolStarted)[0].arguments["customer_name"] == "Bob Li"  # "me", from the system prompt
    assert _finished(mine).ok and json.loads(_tool_result(mine))["customer_name"] == "Bob Li"
    theirs = _ask(agent_world, broker, approver, "create an order for 1 tea at 2 for Alice Chen", user="bob")
    assert not _of(theirs, ConsentNeeded)  # denied before any token is fetched
    finished = _finished(theirs)
    assert (finished.tool, finished.ok, finished.denied_by) == ("createOrder", False, ())
    assert _tool_result(theirs).startswith("createOrder failed: denied by the AI Gateway's policy (no policy permits")
    assert _done(theirs).text == ("I couldn't create an order for Alice Chen: the AI Gateway's policy denied it "
                                  "(no policy permits it).")
    assert [d["decision"] for d in _decisions(agent_world, "bob", "createOrder")][:1] == ["DENY"]


def test_bobs_delete_is_called_by_the_model_and_refused_by_the_gateway(agent_world, broker, approver):
    offered: list[dict[str, str]] = []

    def spying(config, messages, tools):
        offered.append({t["function"]["name"]: t["function"]["description"] for t in tools})
        yield from stream_reply(config, messages, tools)

    events = _ask(agent_world, broker, approver, "delete order 12345678", user="bob", stream=spying)
    assert NOT_LISTED in offered[0]["deleteOrder"]  # the gateway did not list it for bob; the app still offers it
    started, finished = _of(events, ToolStarted)[0], _finished(events)
    assert (started.tool, started.arguments) == ("deleteOrder", {"order_id": "12345678"})
    assert (finished.ok, finished.denied_by, finished.via) == (False, (), GATEWAY)
    assert "denied by the AI Gateway's policy" in _tool_result(events)  # what the model was told
    assert "the AI Gateway's policy denied it" in _done(events).text and _done(events).ok
    [decision] = _decisions(agent_world, "bob", "deleteOrder")
    assert (decision["decision"], decision["forwarded"], decision["mode"]) == ("DENY", False, "ENFORCE")


# -- what the app never holds --------------------------------------------------------------------------------------
def _order_vault(agent_world, broker, user: str, forget: bool = False) -> str:
    """The order service's access token the data plane holds for the user (what the gateway injects), or "";
    `forget` deletes it first, so the gateway asks for consent again."""
    store = open_store(agent_world.cloud.data_dir, time.time)
    try:
        key = VaultKey.of(agent_world.cloud.account_id, broker.workload(), agent_world.users[user].subject,
                          ORDER_PROVIDER, list(ORDER_SCOPES))
        if forget:
            delete_vaulted(store, key)
        entry = get_vaulted(store, key)
    finally:
        store.close()
    return entry.access_token if entry is not None else ""


def test_the_order_services_token_reaches_no_result_chat_message_or_log(agent_world, broker, approver, caplog):
    _order_vault(agent_world, broker, "alice", forget=True)  # the whole story: consent included
    caplog.set_level(logging.DEBUG)
    store = ChatStore.in_directory(agent_world.directory / "never-held")
    owner = agent_world.alice.key
    chat = store.create_chat(owner)
    sent_to_model: list[str] = []

    def spying(config, messages, tools):
        sent_to_model.append(json.dumps([list(messages), list(tools)], default=str))
        yield from stream_reply(config, messages, tools)

    events: list[Any] = []
    for prompt in ("list my orders", "create an order for 1 tea at 2 for Alice Chen", "list my orders"):
        history = trim_history([e.body for e in store.entries(owner, chat.id) if e.kind == "message"])
        done, futures = run(recorded(store, owner, chat.id, turn(agent_world, broker, prompt, history, stream=spying)),
                            _approving(agent_world, broker, approver))
        for future in futures:
            future.result()
        events += done
    assert all(e.ok for e in _of(events, ToolFinished)) and len(_of(events, ToolFinished)) == 3
    assert [e.status for e in _of(events, ConsentSettled)] == ["completed"]
    token = _order_vault(agent_world, broker, "alice")
    assert len(token) >= 16
    results = [e.message["content"] for e in _of(events, MessageAdded) if e.message["role"] == "tool"]
    chat_entries = json.dumps([e.body for e in store.entries(owner, chat.id)], default=str)
    activity = [a.detail for a in broker.log.of(owner)]
    store.close()
    assert results and sent_to_model and chat_entries and caplog.text
    for place in (*results, *(e.summary for e in _of(events, ToolFinished)), repr(events), chat_entries,
                  *sent_to_model, caplog.text, *activity):
        assert token not in place
    cached = CacheKey(owner, broker.workload(), "oauth2", ORDER_PROVIDER, ORDER_SCOPES)
    assert broker.cache.peek(cached) is None
    # Not even briefly: the app never asked Agent Identity for it (completing the consent fetches nothing).
    asked = [a for a in broker.log.of(owner) if a.action == "GetResourceOAuth2Token" and a.provider == ORDER_PROVIDER]
    assert asked == []


# -- a gateway that does not answer ----------------------------------------------------------------------------------
def test_with_the_gateway_down_its_tools_are_reported_missing_and_the_turn_goes_on(agent_world, broker):
    dead = GatewayTarget(mcp_server=f"http://127.0.0.1:{free_port()}/mcp-servers/test-order-agent-identity",
                         arn=agent_world.target.gateway.arn)
    down = dataclasses.replace(agent_world, target=dataclasses.replace(agent_world.target, gateway=dead))
    started = time.monotonic()
    events, _ = run(turn(down, broker, "What's the weather in Beijing?", mcp_timeout=3))
    assert time.monotonic() - started < 20
    [unavailable] = [e for e in _of(events, McpUnavailable) if e.server == GATEWAY_TOOLS]
    assert "failed" in unavailable.reason and _finished(events).ok and _done(events).ok


def test_without_a_gateway_no_order_tool_is_offered(agent_world, broker):
    offered: list[list[str]] = []

    def spying(config, messages, tools):
        offered.append([t["function"]["name"] for t in tools])
        yield from stream_reply(config, messages, tools)

    none = dataclasses.replace(agent_world, target=dataclasses.replace(agent_world.target, gateway=GatewayTarget()))
    events, _ = run(turn(none, broker, "list my orders", stream=spying))
    assert not {"listOrders", "getOrder", "createOrder", "deleteOrder"} & set(offered[0])
    assert not _of(events, ToolStarted) and "listOrders" in _done(events).text  # "I'd need `listOrders` for that"
