"""agentscope-runtime's own schema models for the agent API (`agentscope_runtime.engine.schemas.agent_schemas`), and
a check that one of our `/process` events is exactly what they describe.

The module is loaded from the installed package's file by path: importing it as
`agentscope_runtime.engine.schemas.agent_schemas` runs the package's `__init__`s, which import the whole engine
(seconds, ~1,700 modules) and install a handler on the root logger of the test process. The file itself needs only
pydantic and the openai SDK, so the models are the package's own, unchanged.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel

__all__ = ["agent_schemas", "validate_event"]

_MODULE = "agentscope_runtime_agent_schemas"


@functools.cache
def agent_schemas() -> ModuleType:
    package = importlib.util.find_spec("agentscope_runtime")  # locates the package without importing it
    assert package is not None and package.submodule_search_locations, "pip install -r requirements-dev.txt"
    path = Path(next(iter(package.submodule_search_locations))) / "engine" / "schemas" / "agent_schemas.py"
    spec = importlib.util.spec_from_file_location(_MODULE, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[_MODULE] = module  # pydantic resolves the models' annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def _content_model(kind: object) -> type[BaseModel]:
    schemas = agent_schemas()
    models = {"text": schemas.TextContent, "data": schemas.DataContent, "image": schemas.ImageContent,
              "audio": schemas.AudioContent, "file": schemas.FileContent, "refusal": schemas.RefusalContent,
              "video": schemas.VideoContent}
    assert kind in models, f"content type {kind!r} is not one of agentscope-runtime's {sorted(models)}"
    return models[kind]


def _no_extras(model: BaseModel, where: str) -> None:
    """The models allow extra fields; ours must all be ones the models declare (a typo would pass otherwise)."""
    assert not model.model_extra, f"{where}: fields agentscope-runtime does not declare: {sorted(model.model_extra)}"


def _check_message(message: BaseModel, where: str) -> None:
    schemas = agent_schemas()
    _no_extras(message, where)
    assert message.type in schemas.MessageType.all_values(), f"{where}: message type {message.type!r}"
    _check_status(message.status, where)
    payloads = {schemas.MessageType.PLUGIN_CALL: schemas.FunctionCall,
                schemas.MessageType.PLUGIN_CALL_OUTPUT: schemas.FunctionCallOutput,
                schemas.MessageType.MCP_TOOL_CALL: schemas.McpCall,
                schemas.MessageType.MCP_TOOL_CALL_OUTPUT: schemas.McpCallOutput}
    for index, content in enumerate(message.content or []):
        _no_extras(content, f"{where}.content[{index}]")
        _check_status(content.status, f"{where}.content[{index}]")
        if message.type in payloads and message.status == "completed":
            assert content.type == "data", f"{where}: a {message.type} carries data, not {content.type}"
            payload = payloads[message.type]
            payload.model_validate(content.data)  # agentscope-runtime's own shape of a call / its output
            unknown = set(content.data) - set(payload.model_fields)
            assert not unknown, f"{where}: {message.type} data fields {payload.__name__} lacks: {sorted(unknown)}"


def _check_status(status: object, where: str) -> None:
    statuses = {value for name, value in vars(agent_schemas().RunStatus).items() if not name.startswith("_")}
    assert status is None or status in statuses, f"{where}: status {status!r} is not one of {sorted(statuses)}"


def validate_event(event: dict[str, Any]) -> BaseModel:
    """The event parsed by the agentscope-runtime model its `object` (and a content's `type`) names; fails unless it
    parses, declares no field the model lacks, and dumps back to exactly what was sent (nothing coerced)."""
    schemas = agent_schemas()
    kind = event.get("object")
    where = f"event {event.get('sequence_number')} ({kind})"
    if kind == "response":
        model: BaseModel = schemas.AgentResponse.model_validate(event)
        _no_extras(model, where)
        _check_status(model.status, where)
        for index, message in enumerate(model.output or []):
            _check_message(message, f"{where}.output[{index}]")
        if model.status == "failed":
            assert model.error is not None, f"{where}: a failed response says why (error)"
    elif kind == "message":
        model = schemas.Message.model_validate(event)
        _check_message(model, where)
    elif kind == "content":
        model = _content_model(event.get("type")).model_validate(event)
        _no_extras(model, where)
        _check_status(model.status, where)
    else:
        raise AssertionError(f"{where}: `object` must be response, message or content: {json.dumps(event)[:300]}")
    assert model.model_dump(mode="json", exclude_unset=True) == event, f"{where} changed on the way through the model"
    return model
