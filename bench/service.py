"""Benchmark 8: the agent service (`POST /process`) next to the in-process loop, same prompts, one run.

Both run the same turn for the same signed-in user against the same localcloud, with consents given beforehand and
warm brokers (the first turn of each path is a warm-up, not measured). "First event" is the first thing a user
sees of the answer (a text delta or a tool call); "whole turn" ends at TurnDone in-process and at the `response`
completed event over HTTP. The service runs in this process on uvicorn (loopback HTTP, SSE), so the difference is
the service's own cost: HTTP, verifying the ID token, the worker thread and the event encoding.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx

from bench.chat import _consent_everything
from bench.environment import served
from bench.plan import Plan
from bench.results import Results
from bench.stats import ratio
from bench.world import World

__all__ = ["SERVICE", "run"]

SERVICE = "service"
PROMPTS = ("What's the weather in Beijing?", "What time is it in Shanghai?", "What's on my schedule today?")
_VISIBLE = ("TextDelta", "ToolStarted")


def _in_process(world: World) -> Callable[[str], tuple[float, float]]:
    from agent import TextDelta, ToolStarted, TurnContext, TurnDone, run_turn

    context = TurnContext.of(world.user, world.broker, world.clients.target)

    def turn(prompt: str) -> tuple[float, float]:
        started, first = time.perf_counter(), None
        for event in run_turn(context, [], prompt):
            if first is None and isinstance(event, TextDelta | ToolStarted):
                first = time.perf_counter() - started
            if isinstance(event, TurnDone) and not event.ok:
                raise RuntimeError(f"the in-process turn failed: {prompt}")
        return first or 0.0, time.perf_counter() - started

    return turn


def _over_http(url: str, id_token: str) -> Callable[[str], tuple[float, float]]:
    client = httpx.Client(trust_env=False, timeout=httpx.Timeout(60, connect=5))

    def turn(prompt: str) -> tuple[float, float]:
        body = {"input": [{"role": "user", "type": "message", "content": [{"type": "text", "text": prompt}]}],
                "stream": True}
        started, first, status = time.perf_counter(), None, ""
        with client.stream("POST", url, json=body, headers={"Authorization": f"Bearer {id_token}"}) as response:
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                item = json.loads(line[5:])
                visible = item.get("delta") or item.get("type") in ("plugin_call", "mcp_call")
                if first is None and visible:
                    first = time.perf_counter() - started
                if item.get("object") == "response":
                    status = item.get("status", "")
        if status != "completed":
            raise RuntimeError(f"the service's turn ended {status!r}: {prompt}")
        return first or 0.0, time.perf_counter() - started

    return turn


def run(world: World, plan: Plan, results: Results) -> None:
    """Every run of benchmark 8."""
    import os

    from agent.runtime import build_agent_runtime
    from agent.service.app import create_app

    section = results.section(SERVICE, "8. The agent service: /process next to the in-process loop")
    _consent_everything(world)
    environ = {**os.environ, "AGENT_IDENTITY_MODE": "local", "LOCALCLOUD_PORT": str(world.cloud.port),
               "LOCALCLOUD_DATA_DIR": str(world.cloud.data_dir), "LOCALCLOUD_PUBLIC_URL": world.cloud.url,
               "CONFIG_JSON": str(world.settings.config_json), "APP_REDIRECT_URI": world.settings.app_url}
    app = create_app(lambda: build_agent_runtime(environ))
    with served(app) as port:
        paths = {"in-process": _in_process(world), "/process": _over_http(f"http://127.0.0.1:{port}/process",
                                                                             world.user.id_token)}
        for turn in paths.values():  # warm-up: caches, MCP discovery, connections
            turn(PROMPTS[0])
        for _ in range(plan.repeat):
            for prompt in PROMPTS:
                measured = {name: turn(prompt) for name, turn in paths.items()}  # interleaved: same machine state
                label = prompt[:30]
                for name, (first, whole) in measured.items():
                    results.add(SERVICE, f"{label}: {name}, first event", first * 1000, "ms")
                    results.add(SERVICE, f"{label}: {name}, whole turn", whole * 1000, "ms")
                results.add(SERVICE, f"{label}: /process / in-process, whole turn",
                            ratio(measured["/process"][1], measured["in-process"][1]), "x")
    section.notes.append("warm brokers, consents given beforehand; the service in this process on loopback HTTP")
