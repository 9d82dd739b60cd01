"""One chat turn: a bounded function-calling loop over the tools, reported as events while it runs.

Each round streams the model's answer; when it asks for tools, each call runs through `tools.call_tool` for
the signed-in user, and its result (a failure included) goes back to the model as the tool's message. A
call that needs consent reports ConsentNeeded and waits, bounded by the consent's own lifetime, for the
app's /callback route to settle it (the broker wakes the wait at once); once approved, the same call runs
again and the turn carries on. A declined or expired consent ends the turn with a plain explanation, so the
chat stays usable. Nothing here waits without a bound.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.errors import LimitReached, ModelError
from agent.events import (
    ConsentNeeded,
    ConsentSettled,
    ConsentWaiting,
    Event,
    MessageAdded,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnDone,
    TurnFailed,
)
from agent.history import TURN_ID
from agent.llm import ModelConfig, ModelReply, ToolCall, arguments_of, stream_reply
from agent.prompt import system_message
from agent.toolbox import MCP_DISCOVERY_SECONDS, Discover, Toolbox, open_toolbox
from identity.broker import ConsentRequired, CredentialBroker, PendingConsent
from identity.broker.activity import tracing
from identity.cloud import CloudTarget
from identity.users import SignedInUser
from tools import TOOLS, Tool, ToolOutcome, call_tool, discover_gateway_tools, discover_mcp_tools

__all__ = ["CONSENT_WAIT_SECONDS", "MAX_PROMPT_CHARS", "MAX_ROUNDS", "TurnContext", "run_turn"]

MAX_ROUNDS = 6
CONSENT_WAIT_SECONDS = 600.0    # never longer than the consent itself lives (Agent Identity: 10 minutes)
HEARTBEAT_SECONDS = 5.0         # how often a waiting turn reports (and lets the page interrupt it)
MAX_CONSENTS_PER_CALL = 2
RESULT_CHARS = 8_000            # of a tool result, for the model
MAX_PROMPT_CHARS = 8_000        # of one message from the user (the Chat page's input says so too)
SUMMARY_CHARS = 200             # of a tool result, for the card
TOO_MANY_ROUNDS = "I stopped after too many rounds of tool calls; please ask a narrower question."
EMPTY_ANSWER = "(The model returned an empty answer.)"

Stream = Callable[[ModelConfig, Sequence[dict[str, Any]], Sequence[dict[str, Any]]], Iterator[str | ModelReply]]
Steps = Generator[Event, None, Any]


@dataclass(frozen=True)
class TurnContext:
    """Who the turn acts for, where its calls go, and its bounds."""

    user: SignedInUser
    broker: CredentialBroker
    target: CloudTarget
    model: ModelConfig
    tools: tuple[Tool, ...] = TOOLS
    max_rounds: int = MAX_ROUNDS
    consent_timeout: float = CONSENT_WAIT_SECONDS
    heartbeat: float = HEARTBEAT_SECONDS
    mcp_timeout: float = MCP_DISCOVERY_SECONDS
    stream: Stream = field(default=stream_reply, repr=False)
    discover: Discover = field(default=discover_mcp_tools, repr=False)
    discover_gateway: Discover = field(default=discover_gateway_tools, repr=False)

    @classmethod
    def of(cls, user: SignedInUser, broker: CredentialBroker, target: CloudTarget, **overrides: Any) -> TurnContext:
        """The context for the broker's settings and the target's model (unless `model=` says otherwise)."""
        model = overrides.pop("model", None) or ModelConfig.of(broker.settings, target)
        return cls(user, broker, target, model, **overrides)


def run_turn(context: TurnContext, history: Sequence[dict[str, Any]], text: str) -> Iterator[Event]:
    """Answer `text` after `history` (role messages); events as they happen, always ending with TurnDone."""
    if len(text) > MAX_PROMPT_CHARS:  # refused before anything is stored or sent to the model
        yield TurnFailed(LimitReached.code, f"Your message has {len(text):,} characters; the limit is "
                                           f"{MAX_PROMPT_CHARS:,}. Shorten it and send it again.")
        yield TurnDone("", 0, ok=False)
        return
    user_message, turn_id = {"role": "user", "content": text}, secrets.token_hex(8)
    # The stored copy names the turn, so its identity calls (traced below) can be found again; the model's doesn't.
    yield MessageAdded({**user_message, TURN_ID: turn_id})
    gateway = context.target.gateway
    with tracing(turn_id):
        box = open_toolbox(context.tools, context.user, context.broker, context.target.services.get("mcp_server"),
                           context.discover, context.mcp_timeout,
                           gateway=gateway.mcp_server if gateway.configured else None,
                           discover_gateway=context.discover_gateway)
    yield from box.take_notices()
    messages = [system_message(context.user.name, context.broker.clock()), *history, user_message]
    turn = _Turn(context, box, messages, turn_id)
    try:
        yield from turn.run()
    except ModelError as error:
        yield TurnFailed(error.code, error.message)
        yield TurnDone("", turn.rounds, ok=False)


def _tool_message(call: ToolCall, content: str) -> dict[str, Any]:
    return {"role": "tool", "content": content[:RESULT_CHARS], "tool_call_id": call.id, "name": call.name}


def _assistant_message(reply: ModelReply, calls: Sequence[ToolCall]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if calls:
        message["tool_calls"] = [call.as_message() for call in calls]
    return message


def _summary(content: str) -> str:
    line = " ".join(content.split())
    return line if len(line) <= SUMMARY_CHARS else line[: SUMMARY_CHARS - 1] + "…"


def _failed(tool: Tool | None, name: str, reason: str, provider: str = "") -> ToolOutcome:
    kind, via = (tool.credential.kind, tool.credential.injected_by) if tool is not None else ("", "")
    return ToolOutcome(name, False, f"{name} failed: {reason}", kind, provider, "", 0.0, via)


def _refusal_text(tool: str, settled: ConsentSettled) -> str:
    why = "you did not approve it" if settled.status == "declined" else "the approval did not arrive in time"
    return (f"I stopped here: {tool} needs your approval at {settled.provider}, and {why}. Nothing was done with "
            "it. Ask again whenever you want to connect it.")


class _Turn:
    """The rounds of one turn; `messages` grows with every assistant and tool message."""

    def __init__(self, context: TurnContext, box: Toolbox, messages: list[dict[str, Any]], turn_id: str = "") -> None:
        self.context, self.box, self.messages, self.rounds = context, box, messages, 0
        self.turn_id = turn_id

    def _add(self, message: dict[str, Any]) -> MessageAdded:
        self.messages.append(message)
        return MessageAdded(message)

    def run(self) -> Iterator[Event]:
        for number in range(1, self.context.max_rounds + 1):
            self.rounds = number
            last = number == self.context.max_rounds  # the last round offers no tools: it must answer
            reply = yield from self._ask([] if last else self.box.schemas())
            calls = () if last else reply.tool_calls
            text = reply.text
            if not text and not calls:
                text = TOO_MANY_ROUNDS if reply.tool_calls else EMPTY_ANSWER
            yield self._add(_assistant_message(ModelReply(text), calls))
            if not calls:
                yield TurnDone(text, self.rounds)
                return
            refused = yield from self._run_calls(calls)
            if refused is not None:
                yield from self._end_refused(*refused)
                return

    def _ask(self, schemas: Sequence[dict[str, Any]]) -> Steps:
        for chunk in self.context.stream(self.context.model, self.messages, schemas):
            if isinstance(chunk, ModelReply):
                return chunk
            yield TextDelta(chunk)
        raise ModelError("The model's answer ended without a reply.", "EmptyReply")

    def _end_refused(self, tool: str, settled: ConsentSettled) -> Iterator[Event]:
        text = _refusal_text(tool, settled)
        yield TextDelta(text)
        yield self._add({"role": "assistant", "content": text})
        yield TurnDone(text, self.rounds)

    def _run_calls(self, calls: Sequence[ToolCall]) -> Steps:
        """Run the calls in order; (tool, settled) when a refused consent ends the turn, else None."""
        for index, call in enumerate(calls):
            outcome, refused = yield from self._call(call)
            yield self._add(_tool_message(call, outcome.content))
            yield from self.box.take_notices()
            if refused is not None:
                for skipped in calls[index + 1:]:  # every call needs its result, or the history is malformed
                    yield self._add(_tool_message(skipped, "not run: the turn ended without the user's approval"))
                return call.name, refused
        return None

    def _call(self, call: ToolCall) -> Steps:
        tool, refused, started = self.box.get(call.name), None, self.context.broker.clock()
        if tool is None:
            outcome = _failed(None, call.name, "there is no such tool")
        else:
            try:
                arguments = arguments_of(call)
            except ValueError as error:
                outcome = _failed(tool, call.name, f"bad arguments ({error})")
            else:
                spec = tool.credential
                provider = spec.provider(self.context.broker.settings)
                yield ToolStarted(call.id, tool.name, arguments, spec.kind, provider, spec.injected_by)
                outcome, refused = yield from self._with_consent(tool, arguments, call.id)
        yield ToolFinished(call.id, outcome.tool, outcome.ok, outcome.credential_kind, outcome.provider,
                           outcome.latency_ms, _summary(outcome.content), outcome.fingerprint, outcome.via,
                           outcome.denied_by, started, self.context.broker.clock())
        return outcome, refused

    def _invoke(self, tool: Tool, arguments: dict[str, Any], call_id: str = "") -> ToolOutcome:
        context = self.context
        try:
            with tracing(self.turn_id, call_id, tool.name):  # no yield inside: see `tracing`
                return call_tool(tool, arguments, context.user, context.broker, context.target.services)
        except ConsentRequired:
            raise
        except Exception as error:  # whatever a tool does wrong is the model's to hear, not the page's to crash on
            provider = tool.credential.provider(context.broker.settings)
            return _failed(tool, tool.name, f"unexpected {type(error).__name__}", provider)

    def _with_consent(self, tool: Tool, arguments: dict[str, Any], call_id: str = "") -> Steps:
        provider = tool.credential.provider(self.context.broker.settings)
        for _ in range(MAX_CONSENTS_PER_CALL):
            try:
                return self._invoke(tool, arguments, call_id), None
            except ConsentRequired as needed:
                settled = yield from self._consent(tool, needed.consent)
            if settled.status != "completed":
                return _failed(tool, tool.name, f"the user's approval at {provider} was {settled.status}",
                               provider), settled
        return _failed(tool, tool.name, "the approval did not take effect; ask the user to try again", provider), None

    def _consent(self, tool: Tool, consent: PendingConsent) -> Steps:
        yield ConsentNeeded(consent.state, tool.name, consent.provider, consent.scopes, consent.authorization_url,
                            consent.expires_at)
        status, detail = yield from self._await(consent)
        settled = ConsentSettled(consent.state, consent.provider, status, detail)
        yield settled
        return settled

    def _await(self, consent: PendingConsent) -> Steps:
        """Wait for the consent to settle: woken by the broker at once, reporting every heartbeat, bounded."""
        context, clock = self.context, self.context.broker.clock
        deadline = time.monotonic() + max(0.0, min(context.consent_timeout, consent.expires_at - clock()))
        while (left := deadline - time.monotonic()) > 0:
            found = context.broker.wait_for_consent(context.user, consent.state, min(context.heartbeat, left))
            if found is None:  # forgotten: the user signed out meanwhile
                return "declined", "the consent was withdrawn"
            status = found.status_at(clock())
            if status != "pending":
                return status, found.detail
            yield ConsentWaiting(consent.state, max(0, round(deadline - time.monotonic())))
        return "expired", "no approval arrived in time"
