"""The agent: Friday's function-calling loop over the tools (DashScope Generation), and chat memory.

`run_turn(TurnContext.of(user, broker, target), history, text)` yields events for the UI; `recorded(...)`
keeps them in a `ChatStore` as they pass.
"""

from typing import TYPE_CHECKING

from identity.lazy import lazy_exports

if TYPE_CHECKING:
    from agent.errors import AgentError, ChatNotFound, LimitReached, ModelError
    from agent.events import (
        ConsentNeeded,
        ConsentSettled,
        ConsentWaiting,
        Event,
        McpConnected,
        McpUnavailable,
        MessageAdded,
        TextDelta,
        ToolFinished,
        ToolStarted,
        TurnDone,
        TurnFailed,
    )
    from agent.llm import ModelConfig, ModelReply, ToolCall, stream_reply
    from agent.loop import MAX_PROMPT_CHARS, TurnContext, run_turn
    from agent.memory import ChatStore, ChatSummary, Entry, recorded
    from agent.prompt import system_prompt
    from agent.toolbox import CONNECTOR_NAME

__all__ = ["CONNECTOR_NAME", "MAX_PROMPT_CHARS", "AgentError", "ChatNotFound", "ChatStore", "ChatSummary",
           "ConsentNeeded", "ConsentSettled", "ConsentWaiting", "Entry", "Event", "LimitReached", "McpConnected",
           "McpUnavailable", "MessageAdded", "ModelConfig", "ModelError", "ModelReply", "TextDelta", "ToolCall",
           "ToolFinished", "ToolStarted", "TurnContext", "TurnDone", "TurnFailed", "recorded", "run_turn",
           "stream_reply", "system_prompt"]

__getattr__ = lazy_exports(__name__, {
    "AgentError": "errors",
    "ChatNotFound": "errors",
    "LimitReached": "errors",
    "ModelError": "errors",
    "ConsentNeeded": "events",
    "ConsentSettled": "events",
    "ConsentWaiting": "events",
    "Event": "events",
    "McpConnected": "events",
    "McpUnavailable": "events",
    "MessageAdded": "events",
    "TextDelta": "events",
    "ToolFinished": "events",
    "ToolStarted": "events",
    "TurnDone": "events",
    "TurnFailed": "events",
    "ModelConfig": "llm",
    "ModelReply": "llm",
    "ToolCall": "llm",
    "stream_reply": "llm",
    "MAX_PROMPT_CHARS": "loop",
    "TurnContext": "loop",
    "run_turn": "loop",
    "ChatStore": "memory",
    "ChatSummary": "memory",
    "Entry": "memory",
    "recorded": "memory",
    "system_prompt": "prompt",
    "CONNECTOR_NAME": "toolbox",
})
