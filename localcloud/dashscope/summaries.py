"""How the local model reports tool results: one readable paragraph per result (pure).

Results are the strings the dashboard's tools return: JSON documents for the services, plain text for an
OSS file, and "<tool> failed: <reason>" when a tool could not do its job (`tools/runner.py`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from localcloud.dashscope.orders import order_action, order_summary

__all__ = ["ToolResult", "summarise", "summarise_one"]

_MAX_QUOTED = 1500   # long documents are cut: the chat shows a summary, not a dump
_MAX_REASON = 300
_MAX_LISTED = 20


@dataclass(frozen=True)
class ToolResult:
    """A tool's answer, with the call that asked for it."""

    name: str
    content: str
    arguments: Mapping[str, Any] = field(default_factory=dict)


def _json(content: str) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return None


def _cut(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def _bullets(lines: list[str]) -> str:
    shown = [f"- {line}" for line in lines[:_MAX_LISTED]]
    if len(lines) > _MAX_LISTED:
        shown.append(f"- …and {len(lines) - _MAX_LISTED} more")
    return "\n".join(shown)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# -- failures ---------------------------------------------------------------------------------------
def _action(result: ToolResult) -> str:
    args = result.arguments
    actions: dict[str, str] = {
        "weather_search": f"get the weather for {args.get('city') or 'that city'}",
        "get_schedule": f"get your schedule for {args.get('date') or 'that day'}",
        "get_current_time": f"get the time in {args.get('timezone') or 'that time zone'}",
        "write_dingtalk_document": "write to your DingTalk document",
        "read_dingtalk_document": "read your DingTalk document",
        "list_oss_objects": "list the files in OSS",
        "read_oss_object": f"read {args.get('key') or 'that file'} from OSS",
        "list_ecs_instances": "list your ECS instances",
        "describe_ecs_instance": f"describe the ECS instance {args.get('instance_id') or ''}".rstrip(),
        "search_resources": f"search your cloud resources for \"{args.get('keyword', '')}\"",
        "connect_alibaba_cloud_mcp": "connect to the Alibaba Cloud MCP server",
    }
    return actions.get(result.name) or order_action(result.name, args) or f"run {result.name}"


def _failure_reason(result: ToolResult) -> str | None:
    content = result.content.strip()
    for marker in (f"{result.name} failed:", f"{result.name} was called with bad arguments:"):
        if content.startswith(marker):
            return content[len(marker):].strip() if marker.endswith("failed:") else content
    if re.match(r"(?i)(error|failed)\s*:", content):
        return content
    data = _json(content)
    if isinstance(data, dict) and (data.get("error") or data.get("success") is False):
        detail = data.get("error_description") or data.get("message") or data.get("error") or data
        return str(detail)
    return None


_POLICY_DENIAL = re.compile(r"^denied by the AI Gateway's policy \((.*?)\):")


def _failure(result: ToolResult, reason: str) -> str:
    denied = _POLICY_DENIAL.match(reason)
    if denied:  # the gateway's decision is final: said as such, with the policies it named
        return f"I couldn't {_action(result)}: the AI Gateway's policy denied it ({denied.group(1)})."
    return f"I couldn't {_action(result)} because {result.name} reported: \"{_cut(reason, _MAX_REASON)}\"."


# -- successes --------------------------------------------------------------------------------------
def _weather(data: Any, result: ToolResult) -> str | None:
    if not isinstance(data, dict) or "temperature" not in data:
        return None
    city = data.get("city") or result.arguments.get("city") or "that city"
    conditions = f" and {data['conditions']}" if data.get("conditions") else ""
    return f"It's {data['temperature']} degrees{conditions} in {city}."


def _schedule(data: Any, result: ToolResult) -> str | None:
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        return None
    day = data.get("date") or result.arguments.get("date") or "that day"
    events = [f"{event.get('time', '')} {event.get('title', '')}".strip() for event in data["events"]
              if isinstance(event, dict)]
    if not events:
        return f"Your schedule for {day} is empty."
    return f"Here's your schedule for {day}:\n{_bullets(events)}"


def _time(data: Any, result: ToolResult) -> str | None:
    if not isinstance(data, dict) or not data.get("time"):
        return None
    zone = data.get("timezone") or result.arguments.get("timezone") or "that time zone"
    try:
        moment = datetime.fromisoformat(str(data["time"]))
    except ValueError:
        return f"It's {data['time']} in {zone}."
    offset = moment.strftime("%z")
    utc = f" (UTC{offset[:3]}:{offset[3:]})" if offset else ""
    return f"It's {moment:%H:%M} on {moment:%A}, {moment.day} {moment:%B %Y} in {zone}{utc}."


def _document_written(data: Any, result: ToolResult) -> str | None:
    if not isinstance(data, dict):
        return None
    updated = (data.get("result") or {}).get("updatedTime") if isinstance(data.get("result"), dict) else None
    when = f" (updated {updated})" if updated else ""
    return f"Done: I wrote that to your DingTalk document{when}."


def _document_read(data: Any, result: ToolResult) -> str | None:
    document = data.get("result") if isinstance(data, dict) else None
    if not isinstance(document, dict) or not isinstance(document.get("content"), str):
        return None
    if not document["content"].strip():
        return "Your DingTalk document is empty."
    return f"Your DingTalk document says:\n\n{_cut(document['content'], _MAX_QUOTED)}"


def _oss_listing(data: Any, result: ToolResult) -> str | None:
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        return None
    bucket, prefix = data.get("bucket") or "the bucket", result.arguments.get("prefix") or ""
    where = f"{bucket} under {prefix}" if prefix else bucket
    files = [f"{item.get('key')} ({item.get('size', '?')} bytes)" for item in data["files"] if isinstance(item, dict)]
    if not files:
        return f"There are no files in {where}."
    return f"{where} has {_plural(len(files), 'file')}:\n{_bullets(files)}"


def _oss_file(data: Any, result: ToolResult) -> str | None:
    key = result.arguments.get("key") or "the file"
    if not result.content.strip():
        return f"{key} is empty."
    return f"Here's {key}:\n\n{_cut(result.content, _MAX_QUOTED)}"


def _instance_line(instance: Mapping[str, Any]) -> str:
    details = ", ".join(str(instance[k]) for k in ("Status", "InstanceType", "RegionId") if instance.get(k))
    return f"{instance.get('InstanceName') or instance.get('InstanceId')} ({instance.get('InstanceId')}): {details}"


def _ecs_listing(data: Any, result: ToolResult) -> str | None:
    if not isinstance(data, dict) or not isinstance(data.get("Instances"), list):
        return None
    region = data.get("RegionId") or result.arguments.get("region") or "that region"
    instances = [_instance_line(i) for i in data["Instances"] if isinstance(i, dict)]
    if not instances:
        return f"You have no ECS instances in {region}."
    return f"You have {_plural(len(instances), 'ECS instance')} in {region}:\n{_bullets(instances)}"


def _ecs_instance(data: Any, result: ToolResult) -> str | None:
    if not isinstance(data, dict) or not data.get("InstanceId"):
        return None
    memory = f", {data['Memory'] // 1024} GiB memory" if isinstance(data.get("Memory"), int) else ""
    cpu = f", {data['Cpu']} vCPU" if data.get("Cpu") else ""
    address = f", private IP {data['PrivateIpAddress']}" if data.get("PrivateIpAddress") else ""
    name = data.get("InstanceName") or data["InstanceId"]
    return (f"{name} ({data['InstanceId']}) is {data.get('Status', 'unknown')}"
            f" in {data.get('ZoneId') or data.get('RegionId') or 'its region'}: "
            f"{data.get('InstanceType', 'unknown type')}{cpu}{memory}{address}.")


def _resource_line(resource: Mapping[str, Any]) -> str:
    kind = str(resource.get("ResourceType", "")).split("::")[1:2] or ["resource"]
    name = resource.get("InstanceName") or resource.get("DBInstanceDescription") or resource.get("Name")
    ident = resource.get("InstanceId") or resource.get("DBInstanceId") or resource.get("Name")
    region = resource.get("RegionId") or resource.get("Region") or ""
    shown = f"{name} ({ident})" if name and name != ident else str(ident)
    return f"{kind[0]} {shown}" + (f" in {region}" if region else "")


def _search(data: Any, result: ToolResult) -> str | None:
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), list):
        return None
    keyword = data.get("Keyword", result.arguments.get("keyword", ""))
    found = [_resource_line(r) for r in data["Resources"] if isinstance(r, dict)]
    if not found:
        return f"I found no cloud resources matching \"{keyword}\"."
    return f"I found {_plural(len(found), 'resource')} matching \"{keyword}\":\n{_bullets(found)}"


def _connected(data: Any, result: ToolResult) -> str | None:
    return _cut(result.content, _MAX_REASON) or None  # the connector already says it in a sentence


_SUMMARIES: dict[str, Callable[[Any, ToolResult], str | None]] = {
    "weather_search": _weather,
    "get_schedule": _schedule,
    "get_current_time": _time,
    "write_dingtalk_document": _document_written,
    "read_dingtalk_document": _document_read,
    "list_oss_objects": _oss_listing,
    "read_oss_object": _oss_file,
    "list_ecs_instances": _ecs_listing,
    "describe_ecs_instance": _ecs_instance,
    "search_resources": _search,
    "connect_alibaba_cloud_mcp": _connected,
}


def _generic(result: ToolResult) -> str:
    if not result.content.strip():
        return f"{result.name} returned nothing."
    return f"{result.name} returned:\n\n{_cut(result.content, _MAX_QUOTED)}"


def summarise_one(result: ToolResult) -> str:
    """One result as a sentence or a short list; failures say what could not be done and why."""
    reason = _failure_reason(result)
    if reason is not None:
        return _failure(result, reason)
    summary = _SUMMARIES.get(result.name)
    text = summary(_json(result.content), result) if summary else order_summary(result.name, result.content,
                                                                                result.arguments)
    return text or _generic(result)


def summarise(results: list[ToolResult]) -> str:
    """Every result of one round of tool calls, a paragraph each."""
    return "\n\n".join(summarise_one(result) for result in results)
