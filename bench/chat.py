"""Benchmark 6: chat turn time on the local cloud for each example prompt, split into model, identity and tool.

Each turn runs `agent.run_turn` as the Chat page does, against localcloud's DashScope stand-in, with every
OAuth2 consent given beforehand and a broker with nothing cached (the first turn after the app starts: its
identity calls are all real). Model time is time spent waiting on the model's stream; identity time is
time inside the broker; tool time is the tool calls less the identity calls they made; MCP discovery is
listing the MCP server's tools at the start of the turn. What is left of the total is the loop itself.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from bench.plan import Plan
from bench.results import Results
from bench.world import World, approve_consent, authorize_url, order_token
from identity.broker import ConsentRequired, CredentialBroker

__all__ = ["CHAT", "TimedBroker", "run"]

CHAT = "chat"
_LABEL_CHARS = 34


def agent_available() -> bool:
    """Whether the agent (being built alongside) and the Chat page's example prompts are in this tree yet."""
    return all(importlib.util.find_spec(name) is not None for name in ("agent", "agent.loop", "ui.chat_view"))


class TimedBroker(CredentialBroker):
    """A broker that adds up the wall time of its outermost credential requests (single-threaded turns)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seconds, self._depth = 0.0, 0

    def _timed(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self._depth += 1
        started = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            self._depth -= 1
            if self._depth == 0:  # api_key() calls workload_token() inside: count the outer call only
                self.seconds += time.perf_counter() - started

    def workload_token(self, *args: Any, **kwargs: Any) -> Any:
        return self._timed(super().workload_token, *args, **kwargs)

    def sts_credentials(self, *args: Any, **kwargs: Any) -> Any:
        return self._timed(super().sts_credentials, *args, **kwargs)

    def api_key(self, *args: Any, **kwargs: Any) -> Any:
        return self._timed(super().api_key, *args, **kwargs)

    def oauth2_token(self, *args: Any, **kwargs: Any) -> Any:
        return self._timed(super().oauth2_token, *args, **kwargs)

    def held_oauth2_token(self, *args: Any, **kwargs: Any) -> Any:  # the toolbox's "is MCP connected?" probe
        return self._timed(super().held_oauth2_token, *args, **kwargs)


@dataclass
class TurnTimes:
    """Seconds of one turn, by where they went."""

    total: float = 0.0
    model: float = 0.0
    identity: float = 0.0
    tool: float = 0.0
    discovery: float = 0.0
    ok: bool = False
    tools: tuple[str, ...] = ()


def _timed_stream(stream: Callable[..., Iterator[Any]], times: TurnTimes) -> Callable[..., Iterator[Any]]:
    """The model stream, with the time spent waiting for each chunk added to `times.model`."""

    def timed(*args: Any) -> Iterator[Any]:
        chunks = stream(*args)
        while True:
            started = time.perf_counter()
            try:
                chunk = next(chunks)
            except StopIteration:
                times.model += time.perf_counter() - started
                return
            times.model += time.perf_counter() - started
            yield chunk

    return timed


def _timed_discovery(discover: Callable[..., Any], times: TurnTimes) -> Callable[..., Any]:
    """MCP tool discovery, with its time added to `times.discovery`."""

    def timed(*args: Any) -> Any:
        started = time.perf_counter()
        try:
            return discover(*args)
        finally:
            times.discovery += time.perf_counter() - started

    return timed


def _consent_everything(world: World) -> None:
    """Every OAuth2 credential a tool declares, approved once by alice (the vault keeps the tokens)."""
    from tools import TOOLS

    needs = {(t.credential.provider(world.settings), t.credential.scopes, t.credential.flow) for t in TOOLS
             if t.credential.kind == "oauth2"}
    for provider, scopes, flow in sorted(needs):
        try:
            world.broker.oauth2_token(world.user, provider, scopes, flow=flow)
        except ConsentRequired as needed:
            approve_consent(world, authorize_url(world, needed.consent.state))
    order_token(world)  # the order tools' credential, which the gateway injects


def _turn(world: World, prompt: str) -> TurnTimes:
    """One turn of a new chat with a cold broker; a consent asked anyway is approved in another thread."""
    from agent import ConsentNeeded, ToolFinished, ToolStarted, TurnContext, TurnDone, run_turn
    from agent.llm import stream_reply
    from tools import discover_mcp_tools

    times, broker = TurnTimes(), TimedBroker(world.clients, world.settings)
    world.broker = broker  # the return route completes consents on the broker the turn waits on
    context = TurnContext.of(world.user, broker, world.clients.target, stream=_timed_stream(stream_reply, times),
                             discover=_timed_discovery(discover_mcp_tools, times))
    inside, used = 0.0, []
    started = time.perf_counter()
    for event in run_turn(context, [], prompt):
        if isinstance(event, ToolStarted):
            inside = broker.seconds
        elif isinstance(event, ToolFinished):
            times.tool += event.latency_ms / 1000 - (broker.seconds - inside)
            used.append(event.tool)
        elif isinstance(event, ConsentNeeded):
            link = authorize_url(world, event.state)
            threading.Thread(target=approve_consent, args=(world, link, event.provider), daemon=True).start()
        elif isinstance(event, TurnDone):
            times.ok = event.ok
    times.total, times.identity, times.tools = time.perf_counter() - started, broker.seconds, tuple(used)
    return times


def _label(prompt: str) -> str:
    return prompt if len(prompt) <= _LABEL_CHARS else prompt[: _LABEL_CHARS - 1] + "…"


def _record(results: Results, prompt: str, times: TurnTimes) -> None:
    label = _label(prompt)
    for part, seconds in (("total", times.total), ("model", times.model), ("identity", times.identity),
                          ("tool", times.tool), ("MCP discovery", times.discovery)):
        results.add(CHAT, f"{label}: {part}", seconds * 1000, "ms")


def _example_prompts() -> Sequence[str]:
    from ui.chat_view import EXAMPLE_PROMPTS
    return EXAMPLE_PROMPTS


def run(world: World, plan: Plan, results: Results) -> None:
    """Every run of benchmark 6, or a "not available yet" row while the agent package is missing."""
    section = results.section(CHAT, "6. Chat turn time on the local cloud, per example prompt")
    if not agent_available():
        section.unavailable = "the agent/ package is not in this tree yet"
        return
    _consent_everything(world)
    original, failed = world.broker, set()
    try:
        for _ in range(plan.repeat):
            for prompt in _example_prompts():
                times = _turn(world, prompt)
                _record(results, prompt, times)
                if not times.ok or not times.tools:
                    failed.add(_label(prompt))
    finally:
        world.broker = original
    section.notes.append("a cold broker per turn (the first turn after the app starts), consents given beforehand; "
                         "total less the parts is the agent loop itself")
    if failed:
        section.notes.append(f"turns that failed or called no tool: {', '.join(sorted(failed))}")
