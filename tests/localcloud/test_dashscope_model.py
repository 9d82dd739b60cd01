"""The local model and the wire format as pure functions: intents, arguments, summaries, events."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from localcloud.dashscope.intents import Utterance, detect
from localcloud.dashscope.model import local_date, respond
from localcloud.dashscope.summaries import ToolResult, summarise_one
from localcloud.dashscope.wire import full_response, parse_request, stream_events

TODAY = date(2026, 1, 2)  # a Friday
DASHBOARD = {"weather_search", "get_schedule", "get_current_time", "write_dingtalk_document",
             "read_dingtalk_document", "list_oss_objects", "read_oss_object"}
MCP = {"list_ecs_instances", "describe_ecs_instance", "search_resources"}


def calls(text: str, offered: set[str] = DASHBOARD | MCP, previous: str = "") -> list[tuple[str, dict[str, Any]]]:
    return [(i.tool, i.arguments) for i in detect(Utterance(text, TODAY, previous), offered)]


def tools(*names: str) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": name, "description": f"{name} does things."}}
            for name in names]


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": "You're a helpful assistant named Friday."},
            {"role": "user", "content": text}]


# -- intents and arguments ----------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("What's the weather in Beijing?", [("weather_search", {"city": "Beijing"})]),
    ("weather for sf", [("weather_search", {"city": "San Francisco"})]),
    ("Is it raining in springfield?", [("weather_search", {"city": "Springfield"})]),
    ("Will it be sunny tomorrow?", [("weather_search", {"city": "Hangzhou"})]),
    ("What's on my schedule?", [("get_schedule", {"date": "2026-01-02"})]),
    ("Any meetings tomorrow?", [("get_schedule", {"date": "2026-01-03"})]),
    ("Show my calendar for 2026-03-04", [("get_schedule", {"date": "2026-03-04"})]),
    ("What's on my agenda on Monday?", [("get_schedule", {"date": "2026-01-05"})]),
    ("What time is it in Tokyo?", [("get_current_time", {"timezone": "Asia/Tokyo"})]),
    ("What's the time?", [("get_current_time", {"timezone": "Asia/Shanghai"})]),
    ("time in Europe/Berlin?", [("get_current_time", {"timezone": "Europe/Berlin"})]),
    ('Save "Call Alice at 3pm" to my DingTalk document',
     [("write_dingtalk_document", {"content": "Call Alice at 3pm"})]),
    ("Read my DingTalk document", [("read_dingtalk_document", {})]),
    ("List my ECS instances in Hangzhou", [("list_ecs_instances", {"region": "cn-hangzhou"})]),
    ("List my ECS instances", [("list_ecs_instances", {})]),
    ("Search my cloud resources for analytics", [("search_resources", {"keyword": "analytics"})]),
    ("Describe i-2ze00000000000001", [("describe_ecs_instance", {"instance_id": "i-2ze00000000000001"})]),
    ("List the files in OSS", [("list_oss_objects", {"prefix": ""})]),
    ("List the files under reports/", [("list_oss_objects", {"prefix": "reports/"})]),
    ("Read docs/welcome.md", [("read_oss_object", {"key": "docs/welcome.md"})]),
    ("Read the document docs/welcome.md from OSS", [("read_oss_object", {"key": "docs/welcome.md"})]),
    ("Hello there", []),
    ("For instance, tell me a joke", []),
    ("What time is my meeting?", [("get_schedule", {"date": "2026-01-02"})]),
])
def test_a_message_asks_for_the_tools_it_names_with_arguments_from_its_text(text, expected):
    assert calls(text) == expected


def test_each_intent_takes_its_arguments_from_its_own_clause():
    assert calls("What's the time in London and the weather in Paris?") == [
        ("get_current_time", {"timezone": "Europe/London"}), ("weather_search", {"city": "Paris"})]


def test_text_to_write_does_not_ask_for_other_tools():
    assert calls("Append to my DingTalk note: sunny weather, meeting at 10:00") == [
        ("write_dingtalk_document", {"content": "sunny weather, meeting at 10:00"})]
    assert calls('Save "the weather is nice" to my DingTalk doc') == [
        ("write_dingtalk_document", {"content": "the weather is nice"})]


def test_save_that_writes_the_previous_answer():
    assert calls("Save that to my DingTalk document", previous="It's 30 degrees and sunny.") == [
        ("write_dingtalk_document", {"content": "It's 30 degrees and sunny."})]


def test_searching_needs_the_search_tool_else_instances_are_listed():
    assert calls("Find resources tagged web", {"list_ecs_instances"}) == [("list_ecs_instances", {})]
    assert calls("Find resources tagged web", {"search_resources"}) == [("search_resources", {"keyword": "web"})]


# -- replies ------------------------------------------------------------------------------------------
def test_only_offered_tools_are_called_and_a_missing_one_is_named():
    reply = respond(user("List my ECS instances and the weather in Beijing"), tools(*DASHBOARD), today=TODAY)
    assert [(c.name, json.loads(c.arguments)) for c in reply.tool_calls] == [("weather_search", {"city": "Beijing"})]
    missing = respond(user("List my ECS instances"), tools(*DASHBOARD), today=TODAY)
    assert not missing.tool_calls and missing.content.startswith("I'd need `list_ecs_instances` for that")


def test_parallel_calls_have_distinct_ids_that_depend_only_on_the_conversation():
    messages = user("Weather in Tokyo, my schedule and the time?")
    first = respond(messages, tools(*DASHBOARD), today=TODAY)
    assert first == respond(messages, tools(*DASHBOARD), today=TODAY)
    assert first.finish_reason == "tool_calls" and len({c.id for c in first.tool_calls}) == 3
    other = respond(user("Weather in Tokyo, my schedule and the time!"), tools(*DASHBOARD), today=TODAY)
    assert not {c.id for c in first.tool_calls} & {c.id for c in other.tool_calls}
    only_one = respond(messages, tools(*DASHBOARD), today=TODAY, parallel=False)
    assert [c.name for c in only_one.tool_calls] == ["weather_search"]


def test_the_help_text_says_what_it_is_and_lists_the_offered_tools():
    reply = respond(user("Tell me a joke"), tools("weather_search", "get_schedule"), today=TODAY, model="qwen-plus")
    assert reply.finish_reason == "stop" and reply.content.startswith("I'm not sure how to help with that. I'm Friday")
    assert "stand-in for qwen-plus" in reply.content
    assert "- `weather_search`: weather_search does things." in reply.content
    assert '"What\'s the weather in Beijing?"' in reply.content and "read_oss_object" not in reply.content


def test_tool_results_after_the_calls_are_summarised_in_order():
    call = {"index": 0, "id": "call_a", "type": "function",
            "function": {"name": "get_current_time", "arguments": '{"timezone": "Asia/Tokyo"}'}}
    result = {"timezone": "Asia/Tokyo", "time": "2026-01-02T18:04:05+09:00"}
    messages = [*user("time in Tokyo"), {"role": "assistant", "content": "", "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "call_a", "content": json.dumps(result)}]
    reply = respond(messages, tools(*DASHBOARD), today=TODAY)
    assert reply.content == "It's 18:04 on Friday, 2 January 2026 in Asia/Tokyo (UTC+09:00)."


def assistant_calls(reply: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": "", "tool_calls": [
        {"index": i, "id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
        for i, c in enumerate(reply.tool_calls)]}


def answers(reply: Any, results: dict[str, Any]) -> list[dict[str, Any]]:
    texts = {name: r if isinstance(r, str) else json.dumps(r) for name, r in results.items()}
    return [{"role": "tool", "tool_call_id": c.id, "name": c.name, "content": texts[c.name]} for c in reply.tool_calls]


def test_the_mcp_connector_is_called_first_and_the_server_tool_once_it_is_offered():
    messages = user("What's the weather in Beijing and list my ECS instances")
    first = respond(messages, tools(*DASHBOARD, "connect_alibaba_cloud_mcp"), today=TODAY)
    assert [c.name for c in first.tool_calls] == ["weather_search", "connect_alibaba_cloud_mcp"]
    messages += [assistant_calls(first), *answers(first, {
        "weather_search": {"city": "Beijing", "temperature": 30, "conditions": "sunny"},
        "connect_alibaba_cloud_mcp": "Connected to the Alibaba Cloud MCP server."})]
    second = respond(messages, tools(*DASHBOARD, *MCP), today=TODAY)
    assert [(c.name, c.arguments) for c in second.tool_calls] == [("list_ecs_instances", "{}")]
    messages += [assistant_calls(second), *answers(second, {"list_ecs_instances": {"RegionId": "cn-beijing",
                                                                                   "Instances": []}})]
    final = respond(messages, tools(*DASHBOARD, *MCP), today=TODAY)
    assert final.content == ("It's 30 degrees and sunny in Beijing.\n\nConnected to the Alibaba Cloud MCP server."
                              "\n\nYou have no ECS instances in cn-beijing.")


def test_a_failed_connection_is_reported_instead_of_retried():
    messages = user("List my ECS instances")
    first = respond(messages, tools("connect_alibaba_cloud_mcp"), today=TODAY)
    messages += [assistant_calls(first), {"role": "tool", "tool_call_id": first.tool_calls[0].id,
                                          "content": "connect_alibaba_cloud_mcp failed: the server is down"}]
    final = respond(messages, tools("connect_alibaba_cloud_mcp"), today=TODAY)
    assert final.content == ("I couldn't connect to the Alibaba Cloud MCP server because connect_alibaba_cloud_mcp "
                             'reported: "the server is down".')


def test_the_date_in_the_system_prompt_is_today():
    messages = [{"role": "system", "content": "You're Friday.\n\nToday is 2026-05-06 (UTC)."},
                {"role": "user", "content": "What's on my schedule tomorrow?"}]
    reply = respond(messages, tools(*DASHBOARD), today=TODAY)
    assert json.loads(reply.tool_calls[0].arguments) == {"date": "2026-05-07"}


# -- summaries ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "content", "arguments", "expected"), [
    ("weather_search", {"city": "Beijing", "temperature": 30, "conditions": "sunny"}, {},
     "It's 30 degrees and sunny in Beijing."),
    ("get_schedule", {"date": "2026-01-02", "events": [{"time": "09:00", "title": "Opening meeting"},
                                                       {"time": "10:00", "title": "Hotel check-in"}]}, {},
     "Here's your schedule for 2026-01-02:\n- 09:00 Opening meeting\n- 10:00 Hotel check-in"),
    ("get_schedule", {"date": "2026-01-02", "events": []}, {}, "Your schedule for 2026-01-02 is empty."),
    ("write_dingtalk_document", {"written": True, "success": True, "result": {"updatedTime": "2026-01-02T01:00:00Z"}},
     {}, "Done: I wrote that to your DingTalk document (updated 2026-01-02T01:00:00Z)."),
    ("read_dingtalk_document", {"success": True, "result": {"content": "# Notes\n\nhi"}}, {},
     "Your DingTalk document says:\n\n# Notes\n\nhi"),
    ("list_oss_objects", {"bucket": "demo", "files": [{"key": "docs/a.md", "size": 12}]}, {"prefix": "docs/"},
     "demo under docs/ has 1 file:\n- docs/a.md (12 bytes)"),
    ("read_oss_object", "# Welcome\n", {"key": "docs/welcome.md"}, "Here's docs/welcome.md:\n\n# Welcome"),
    ("list_ecs_instances", {"RegionId": "cn-beijing", "Instances": [
        {"InstanceId": "i-1", "InstanceName": "web", "Status": "Running", "InstanceType": "ecs.g7.large"}]}, {},
     "You have 1 ECS instance in cn-beijing:\n- web (i-1): Running, ecs.g7.large"),
    ("search_resources", {"Keyword": "db", "Resources": [
        {"ResourceType": "ACS::RDS::DBInstance", "DBInstanceId": "rm-1", "DBInstanceDescription": "main-db",
         "RegionId": "cn-beijing"}]}, {}, 'I found 1 resource matching "db":\n- RDS main-db (rm-1) in cn-beijing'),
    ("weather_search", "weather_search failed: the service refused the request (403 InvalidAppCode: no)",
     {"city": "Paris"},
     'I couldn\'t get the weather for Paris because weather_search reported: '
     '"the service refused the request (403 InvalidAppCode: no)".'),
    ("mystery_tool", "42", {}, "mystery_tool returned:\n\n42"),
])
def test_each_tool_result_reads_as_a_sentence_or_a_list(name, content, arguments, expected):
    text = content if isinstance(content, str) else json.dumps(content)
    assert summarise_one(ToolResult(name, text, arguments)) == expected


# -- the wire, pure -----------------------------------------------------------------------------------
def request(text: str, **parameters: Any) -> Any:
    return parse_request({"model": "qwen3-max", "input": {"messages": user(text)},
                          "parameters": {"result_format": "message", "tools": tools(*DASHBOARD), **parameters}})


def test_incremental_tool_call_events_name_the_function_once_and_rebuild_the_arguments():
    generation = request("Weather in Beijing", incremental_output=True)
    reply = respond(generation.messages, generation.tools, today=TODAY)
    deltas = [e["output"]["choices"][0]["message"].get("tool_calls", []) for e in stream_events(generation, reply, "r")]
    flat = [d for delta in deltas for d in delta]
    assert len(flat) > 1 and "name" in flat[0]["function"] and all("name" not in d["function"] for d in flat[1:])
    assert "".join(d["function"]["arguments"] for d in flat) == '{"city": "Beijing"}'
    assert deltas[-1] == []


def test_full_so_far_events_end_with_the_same_message_as_the_non_stream_answer():
    generation = request("Weather in Beijing and the time")
    reply = respond(generation.messages, generation.tools, today=TODAY)
    last = stream_events(generation, reply, "r")[-1]
    assert last["output"] == full_response(generation, reply, "r")["output"]


def test_tool_choice_none_and_the_text_format_offer_no_tools():
    assert request("Weather in Beijing", tool_choice="none").tools == ()
    assert request("Weather in Beijing", result_format="text").tools == ()
    named = request("hi", tool_choice={"type": "function", "function": {"name": "get_schedule"}})
    assert [t["function"]["name"] for t in named.tools] == ["get_schedule"]


def test_today_is_the_date_in_china():
    assert local_date(1767283200.0) == date(2026, 1, 2)  # 2026-01-01T16:00Z is already the 2nd in Beijing


@pytest.mark.parametrize(("prompt", "tool", "arguments"), [
    ("北京今天天气怎么样？", "weather_search", {"city": "Beijing"}),
    ("我明天的日程是什么？", "get_schedule", {"date": "2026-11-30"}),
    ("上海现在几点？", "get_current_time", {"timezone": "Asia/Shanghai"}),
    ("读取OSS文件 docs/welcome.md", "read_oss_object", {"key": "docs/welcome.md"}),
    ("把“Agent Identity 演示笔记”写入我的钉钉文档", "write_dingtalk_document", {"content": "Agent Identity 演示笔记"}),
])
def test_the_sample_prompts_in_chinese_call_the_same_tools(prompt, tool, arguments):
    from tools import TOOLS  # the dashboard's real tool declarations

    reply = respond([{"role": "user", "content": prompt}], [t.schema() for t in TOOLS], today=date(2026, 11, 29))
    assert [(call.name, json.loads(call.arguments)) for call in reply.tool_calls] == [(tool, arguments)]
