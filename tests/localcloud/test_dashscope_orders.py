"""The local model and the order tools behind the AI Gateway, as pure functions: which prompt calls which tool with
which arguments, and how the results (a policy's denial included) read."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from agent.prompt import system_message
from localcloud.dashscope.intents import Utterance, detect
from localcloud.dashscope.model import respond
from localcloud.dashscope.summaries import ToolResult, summarise_one

TODAY = date(2026, 1, 2)
ORDERS = {"listOrders", "getOrder", "createOrder", "deleteOrder"}
OTHERS = {"weather_search", "get_schedule", "get_current_time", "write_dingtalk_document", "read_dingtalk_document",
          "list_oss_objects", "read_oss_object", "connect_alibaba_cloud_mcp"}
ORDER = {"id": "1a2b3c4d", "customer_name": "Alice Chen", "status": "pending", "total_amount": 7.0,
         "items": [{"name": "coffee", "quantity": 2, "unit_price": 3.5}]}


def calls(text: str, user_name: str = "Bob Li") -> list[tuple[str, dict[str, Any]]]:
    return [(i.tool, i.arguments) for i in detect(Utterance(text, TODAY, "", user_name), ORDERS | OTHERS)]


@pytest.mark.parametrize(("text", "expected"), [
    ("list my orders", [("listOrders", {})]),
    ("List my pending orders", [("listOrders", {"status": "pending"})]),
    ("list orders for Alice Chen", [("listOrders", {"customer_name": "Alice Chen"})]),
    ("what orders do I have?", [("listOrders", {})]),
    ("show order 1a2b3c4d", [("getOrder", {"order_id": "1a2b3c4d"})]),
    ("What's in order #deadbeef1?", [("getOrder", {"order_id": "deadbeef1"})]),
    ("delete order 12345678", [("deleteOrder", {"order_id": "12345678"})]),
    ("please remove my order 1a2b3c4d", [("deleteOrder", {"order_id": "1a2b3c4d"})]),
    ("create an order for 2 coffees at 3.5 for Alice Chen", [("createOrder", {
        "customer_name": "Alice Chen", "items": [{"name": "coffee", "quantity": 2, "unit_price": 3.5}]})]),
    ("create an order for 1 tea at 2 for Alice Chen", [("createOrder", {
        "customer_name": "Alice Chen", "items": [{"name": "tea", "quantity": 1, "unit_price": 2}]})]),
    ("Place an order for 3 boxes at 1.25 and 2 cookies at $0.5 each for me", [("createOrder", {
        "customer_name": "Bob Li", "items": [{"name": "box", "quantity": 3, "unit_price": 1.25},
                                             {"name": "cookie", "quantity": 2, "unit_price": 0.5}]})]),
    ("create an order for 2 green teas at 4", [("createOrder", {
        "customer_name": "Bob Li", "items": [{"name": "green tea", "quantity": 2, "unit_price": 4}]})]),
])
def test_order_prompts_call_the_order_tool_with_its_arguments(text, expected):
    assert calls(text) == expected


@pytest.mark.parametrize("text", ["What's the weather in Beijing?", "What time is it in Tokyo?",
                                  "Read docs/welcome.md from OSS", "sort these in order of size", "order"])
def test_other_prompts_ask_for_no_order_tool(text):
    assert not [tool for tool, _ in calls(text) if tool in ORDERS]


def _tools(*names: str) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": name, "description": f"{name} does things."}} for name in names]


def test_the_model_calls_the_tool_then_answers_from_its_result():
    messages = [system_message("Bob Li", 0.0), {"role": "user", "content": "create an order for 1 tea at 2 for me"}]
    reply = respond(messages, _tools(*sorted(ORDERS)), today=TODAY)
    [call] = reply.tool_calls
    assert (call.name, json.loads(call.arguments)["customer_name"]) == ("createOrder", "Bob Li")
    created = {**ORDER, "customer_name": "Bob Li", "items": [{"name": "tea", "quantity": 1, "unit_price": 2}]}
    answered = respond([*messages, {"role": "assistant", "content": "", "tool_calls": [
        {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}]},
        {"role": "tool", "tool_call_id": call.id, "name": call.name, "content": json.dumps(created)}],
        _tools(*sorted(ORDERS)), today=TODAY)
    assert answered.content == "Created order 1a2b3c4d: Bob Li, 1 × tea at 2 (total 7, pending)."


@pytest.mark.parametrize(("tool", "content", "arguments", "answer"), [
    ("listOrders", json.dumps([ORDER]), {},
     "You have 1 order:\n- 1a2b3c4d: Alice Chen, 2 × coffee at 3.5 (total 7, pending)"),
    ("listOrders", "[]", {}, "There are no orders."),
    ("getOrder", json.dumps(ORDER), {"order_id": "1a2b3c4d"},
     "Order 1a2b3c4d: Alice Chen, 2 × coffee at 3.5 (total 7, pending)."),
    ("deleteOrder", "Done (HTTP 204, no content).", {"order_id": "1a2b3c4d"}, "Deleted order 1a2b3c4d."),
    ("deleteOrder", "deleteOrder failed: denied by the AI Gateway's policy (no policy permits it): The call of "
     "deleteOrder is denied. Nothing was done.", {"order_id": "12345678"},
     "I couldn't delete order 12345678: the AI Gateway's policy denied it (no policy permits it)."),
    ("createOrder", "createOrder failed: denied by the AI Gateway's policy (no-refunds, frozen): The call of "
     "createOrder is denied. Nothing was done.", {"customer_name": "Alice Chen"},
     "I couldn't create an order for Alice Chen: the AI Gateway's policy denied it (no-refunds, frozen)."),
    ("getOrder", "getOrder failed: The order service answered HTTP 404: Order 99999999 not found",
     {"order_id": "99999999"}, "I couldn't look up order 99999999 because getOrder reported: \"The order service "
                               "answered HTTP 404: Order 99999999 not found\"."),
])
def test_order_results_and_denials_read_as_a_sentence(tool, content, arguments, answer):
    assert summarise_one(ToolResult(tool, content, arguments)) == answer
