"""The Inspect page's view model: chat turns and their tool calls, and each call's identity flow as a Graphviz
sequence diagram (the credential timeline is `ui.timeline_view`). Pure: no Streamlit.

A flow is drawn from what was recorded: the broker's activity log (each entry traced to its turn and tool call
by the agent loop) and the chat's cards. Artifacts are fingerprints; no credential value is ever an input here.

A call through the AI Gateway is drawn as the gateway saw it, from its decision records for the call (same user, same
tool, within the call's time; local mode reads them from localcloud): ID token → workload access token → the gateway
→ its Cedar decision (allow or deny, the deciding policies, the mode) → the token it injected (the app never held it)
→ the order service. A denied call stops at the decision. Without records (cloud mode) the card's outcome is drawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from agent.events import ConsentNeeded, ConsentSettled, ToolFinished, card_from_record
from agent.history import TURN_ID
from agent.memory import Entry
from identity.broker.activity import Activity
from identity.broker.kinds import kind_label
from ui.credentials_view import NO_VALUE, utc_time

if TYPE_CHECKING:
    from lab.attacks import ScenarioResult

__all__ = [
    "AGENT", "APP", "CACHE", "CALL", "CONSENT", "FAILURE", "GATEWAY", "GATEWAY_LANES", "IDENTITY", "LANES",
    "PROVIDER", "SERVICE", "STATE_KEY", "TURN_COLUMNS", "USER", "ConsentRecord", "FlowStep", "GatewayDecision",
    "InspectState", "ToolCallRecord", "TurnRecord", "call_activity", "call_label", "decisions_for", "dot_text",
    "flow_dot", "flow_steps", "gateway_flow_steps", "turn_activity", "turn_label", "turn_table", "turns_of",
]

STATE_KEY = "inspect"
USER, APP, AGENT, IDENTITY, PROVIDER, SERVICE = "user", "app", "agent", "identity", "provider", "service"
GATEWAY = "gateway"
LANES = (USER, APP, AGENT, IDENTITY, PROVIDER, SERVICE)
GATEWAY_LANES = (USER, APP, AGENT, IDENTITY, GATEWAY, PROVIDER, SERVICE)
_LANE_TITLES = {USER: "User", APP: "App", AGENT: "Agent", IDENTITY: "Agent Identity", GATEWAY: "AI Gateway",
                PROVIDER: "Provider", SERVICE: "Tool service"}
CALL, CACHE, CONSENT, FAILURE = "call", "cache", "consent", "failure"
# How each kind of step looks: colour, line style, width. A legend in the diagram repeats it.
_STYLES = {CALL: ("#1f2329", "solid", 1.2), CACHE: ("#2e7d32", "dashed", 1.2), CONSENT: ("#1565c0", "bold", 2.0),
           FAILURE: ("#c62828", "bold", 2.0)}
_LEGEND = ((CALL, "identity or tool call"), (CACHE, "cache hit (no call)"), (CONSENT, "consent step"),
           (FAILURE, "refused or failed"))
TURN_COLUMNS = ("Time", "Action", "Provider", "Outcome", "Latency (ms)", "Tool call", "Detail")
PROMPT_CHARS, DETAIL_CHARS = 48, 90
# Consent returns reach the app's /callback route in another thread, outside any trace: these are theirs.
_RETURN_ACTIONS = frozenset({"CompleteResourceTokenAuth", "GetResourceOAuth2Token", "consent"})


@dataclass
class InspectState:
    """The page's state for one signed-in user: the attack lab's latest result per scenario."""

    owner: tuple[str, str] | None = None
    results: dict[str, ScenarioResult] = field(default_factory=dict)

    def for_user(self, owner: tuple[str, str]) -> InspectState:
        """This state if it is the user's, else a fresh one (another sign-in never sees these results)."""
        return self if self.owner == owner else InspectState(owner=owner)


# -- turns and tool calls from a stored chat ----------------------------------------------------------------
@dataclass(frozen=True)
class ConsentRecord:
    """A consent a tool call waited for, as its cards recorded it."""

    provider: str
    scopes: tuple[str, ...]
    status: str = "unsettled"       # completed, declined, expired; unsettled when the turn ended first


@dataclass(frozen=True)
class ToolCallRecord:
    turn_id: str
    call_id: str
    tool: str
    ok: bool
    credential_kind: str
    provider: str
    latency_ms: float
    fingerprint: str
    consents: tuple[ConsentRecord, ...] = ()
    via: str = ""                               # the gateway it went through; then `fingerprint` is the app's token
    denied_by: tuple[str, ...] | None = None    # the gateway's policy denied it: the deciding policies
    started_at: float = 0.0
    finished_at: float = 0.0


@dataclass(frozen=True)
class TurnRecord:
    """One prompt and the tool calls it led to; `turn_id` is empty for turns stored before turns had ids."""

    turn_id: str
    prompt: str
    tool_calls: tuple[ToolCallRecord, ...] = ()


@dataclass
class _Building:
    turn_id: str
    prompt: str
    calls: list[ToolCallRecord] = field(default_factory=list)
    consents: dict[str, ConsentRecord] = field(default_factory=dict)  # by state, waiting for their call

    def done(self) -> TurnRecord:
        return TurnRecord(self.turn_id, self.prompt, tuple(self.calls))

    def card(self, event: object) -> None:
        """Consent cards come before the ToolFinished of the call that waited for them."""
        if isinstance(event, ConsentNeeded):
            self.consents[event.state] = ConsentRecord(event.provider, event.scopes)
        elif isinstance(event, ConsentSettled) and event.state in self.consents:
            found = self.consents[event.state]
            self.consents[event.state] = ConsentRecord(found.provider, found.scopes, event.status)
        elif isinstance(event, ToolFinished):
            self.calls.append(ToolCallRecord(self.turn_id, event.call_id, event.tool, event.ok, event.credential_kind,
                                             event.provider, event.latency_ms, event.fingerprint,
                                             tuple(self.consents.values()), event.via, event.denied_by,
                                             event.started_at, event.finished_at))
            self.consents = {}


def turns_of(entries: Sequence[Entry]) -> list[TurnRecord]:
    """A stored chat's turns in order, each with its tool calls."""
    turns: list[_Building] = []
    for entry in entries:
        if entry.kind == "message" and entry.body.get("role") == "user":
            turns.append(_Building(str(entry.body.get(TURN_ID) or ""), str(entry.body.get("content", ""))))
        elif entry.kind == "card" and turns:
            turns[-1].card(card_from_record(entry.body))
    return [turn.done() for turn in turns]


def _short(text: str, limit: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def turn_label(turn: TurnRecord) -> str:
    calls = len(turn.tool_calls)
    return f"“{_short(turn.prompt, PROMPT_CHARS)}” · {calls} tool call{'s' if calls != 1 else ''}"


def call_label(call: ToolCallRecord) -> str:
    credential = f"{kind_label(call.credential_kind)} from {call.provider or 'workload RAM role'}" \
        if call.credential_kind else "no credential"
    via = f" via the {call.via}" if call.via else ""
    outcome = "denied by policy" if call.denied_by is not None else "ok" if call.ok else "failed"
    return f"{call.tool} · {credential}{via} · {outcome}"


# -- the activity of a turn and of a tool call ---------------------------------------------------------------
def _oldest_first(activity: Sequence[Activity]) -> list[Activity]:
    """The log hands entries newest first; a flow reads oldest first (reversed, so equal times keep order)."""
    return list(reversed(activity))


def turn_activity(activity: Sequence[Activity], turn_id: str) -> list[Activity]:
    """Every identity call traced to the turn (its start, e.g. MCP discovery, and each tool call), oldest first."""
    return [a for a in _oldest_first(activity) if turn_id and a.trace.turn_id == turn_id]


def call_activity(activity: Sequence[Activity], call: ToolCallRecord) -> list[Activity]:
    """The tool call's identity calls, oldest first: those traced to it, and the consent returns for its provider
    that happened while it waited (the /callback route runs outside the trace)."""
    ordered = _oldest_first(activity)
    traced = [a for a in ordered if call.turn_id and (a.trace.turn_id, a.trace.tool_call_id) == (call.turn_id,
                                                                                                   call.call_id)]
    if not any(a.outcome == "consent required" for a in traced):
        return traced
    start, end, mine = traced[0].at, traced[-1].at, {id(a) for a in traced}
    return [a for a in ordered if id(a) in mine or (not a.trace.turn_id and start <= a.at <= end
                                                      and a.provider == call.provider and a.action in _RETURN_ACTIONS)]


def turn_table(entries: Sequence[Activity]) -> pd.DataFrame:
    """A turn's identity calls as a table (fingerprints and messages only)."""
    records = [{"Time": utc_time(a.at), "Action": a.action, "Provider": a.provider or NO_VALUE, "Outcome": a.outcome,
                "Latency (ms)": float(a.latency_ms), "Tool call": a.trace.tool or "turn start",
                "Detail": a.detail or NO_VALUE} for a in entries]
    return pd.DataFrame(records, columns=list(TURN_COLUMNS))


# -- flow steps --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FlowStep:
    """One arrow of the sequence diagram: who to whom, what, how it ended, how long, and what it carried."""

    source: str
    target: str
    action: str
    outcome: str = ""
    latency_ms: float | None = None
    artifact: str = ""       # a fingerprint, or a short message; never a value
    style: str = CALL
    party: str = ""          # the provider (or cached credential) the action names, on its own line


def _outcome_style(outcome: str) -> str:
    if outcome in ("ok", "completed"):
        return CALL
    if outcome == "cache hit":
        return CACHE
    return CONSENT if outcome == "consent required" else FAILURE


def _consent_steps(consent: ConsentRecord) -> list[FlowStep]:
    """What happens outside the app while a call waits: the user at the provider, and the way back."""
    approved = consent.status == "completed"
    steps = [FlowStep(IDENTITY, USER, "authorization URL → Authorize button", " ".join(consent.scopes),
                      style=CONSENT),
             FlowStep(USER, PROVIDER, "signs in and decides", consent.status,
                      style=CONSENT if approved else FAILURE, party=consent.provider)]
    if approved:
        steps.append(FlowStep(PROVIDER, APP, "back through Agent Identity to /callback", "session_uri + state",
                              style=CONSENT))
    return steps


def _activity_steps(entry: Activity, pending: list[ConsentRecord]) -> list[FlowStep]:
    """An activity entry's arrows; traced entries come from the agent, untraced ones from the app's routes."""
    source = AGENT if entry.trace.turn_id else APP
    detail, party = _short(entry.detail, DETAIL_CHARS), entry.provider
    if entry.action == "cache":
        return [FlowStep(source, source, "cache", entry.outcome, entry.latency_ms, detail, CACHE, party)]
    if entry.outcome in ("refused", "declined"):
        return [FlowStep(source, source, entry.action, entry.outcome, entry.latency_ms, detail, FAILURE, party)]
    style = CONSENT if entry.action == "CompleteResourceTokenAuth" and entry.outcome == "ok" else \
        _outcome_style(entry.outcome)
    steps = [FlowStep(source, IDENTITY, entry.action, entry.outcome, entry.latency_ms, detail, style, party)]
    if entry.outcome == "consent required":
        steps += _consent_steps(pending.pop(0) if pending else ConsentRecord(entry.provider, ()))
    return steps


def _folded(activity: Sequence[Activity]) -> list[Activity]:
    """One entry per call: the broker logs a GetResourceOAuth2Token that answered with a consent link twice (the
    call, "ok", then "consent required"); the diagram shows it once, as the consent it asked for."""
    folded: list[Activity] = []
    for entry in activity:
        previous = folded[-1] if folded else None
        if (entry.outcome == "consent required" and previous is not None and previous.outcome == "ok"
                and (previous.action, previous.provider) == (entry.action, entry.provider)):
            folded[-1] = replace(entry, latency_ms=previous.latency_ms)
        else:
            folded.append(entry)
    return folded


def flow_steps(turn: TurnRecord, call: ToolCallRecord, activity: Sequence[Activity]) -> list[FlowStep]:
    """The tool call's sequence: the prompt, every identity step the log holds for it, then the tool call itself."""
    steps = [FlowStep(USER, APP, "asks", f"“{_short(turn.prompt, PROMPT_CHARS)}”"),
             FlowStep(APP, AGENT, "runs the turn", "for the verified user")]
    pending = list(call.consents)
    for entry in _folded(activity):
        steps += _activity_steps(entry, pending)
    outcome = "ok" if call.ok else "failed"
    steps.append(FlowStep(AGENT, SERVICE, call.tool, outcome, call.latency_ms, call.fingerprint,
                          CALL if call.ok else FAILURE))
    return steps


# -- a call through the AI Gateway ------------------------------------------------------------------------------
ELICITATION_ACTION = "AI Gateway elicitation"  # tools.elicitations: the gateway's consent request, as logged
_WORKLOAD_ACTIONS = frozenset({"GetWorkloadAccessTokenForJWT"})
_MATCH_SLACK_SECONDS = 0.5  # rounding: the gateway records its decision while the call runs, on the same clock
NEVER_HELD = "injected by the gateway: the app never held it"


@dataclass(frozen=True)
class GatewayDecision:
    """One decision the gateway recorded for a call: never the arguments, never a token."""

    at: float
    decision: str                       # ALLOW or DENY
    policies: tuple[str, ...] = ()      # the deciding policies (the permits that allowed, or the forbids that denied)
    policy_set: str = ""
    mode: str = ""                      # ENFORCE or LOG_ONLY
    forwarded: bool = False             # the call went on (allowed, or LOG_ONLY)
    injected_fingerprint: str = ""      # the injected token's fingerprint, when the gateway records one

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> GatewayDecision:
        """From a record of the gateway's decision log."""
        return cls(float(record["timestamp"]), str(record.get("decision", "")),
                   tuple(str(p) for p in record.get("deciding_policies") or ()), str(record.get("policy_set") or ""),
                   str(record.get("mode") or ""), bool(record.get("forwarded")),
                   str(record.get("injected_fingerprint") or ""))


def decisions_for(call: ToolCallRecord, records: Sequence[Mapping[str, Any]], user: str = "") -> list[GatewayDecision]:
    """The gateway's decision records for this call, oldest first: same tool (and user, when given), made while the
    call ran (a call stored without its times matches none)."""
    if not call.started_at:
        return []
    start, end = call.started_at - _MATCH_SLACK_SECONDS, max(call.finished_at, call.started_at) + _MATCH_SLACK_SECONDS
    found = [r for r in records if r.get("tool") == call.tool and (not user or r.get("user") == user)
             and isinstance(r.get("timestamp"), int | float) and start <= float(r["timestamp"]) <= end]
    return sorted((GatewayDecision.of(r) for r in found), key=lambda d: d.at)


def _policies(names: Sequence[str]) -> str:
    return ", ".join(names) if names else "no policy permits it"


def _decision_steps(call: ToolCallRecord, decision: GatewayDecision, last: bool) -> list[FlowStep]:
    """The gateway's work on one POST: the call arrives with the workload access token, Cedar decides, then a 403,
    or (the last time) the injected token and the service; an earlier allowed attempt ended in a consent."""
    allowed = decision.decision == "ALLOW"
    mode = f" · {decision.mode}" if decision.mode else ""
    steps = [FlowStep(AGENT, GATEWAY, f"tools/call {call.tool}", "Bearer workload access token",
                      artifact=call.fingerprint),
             FlowStep(GATEWAY, GATEWAY, "Cedar decision", f"{decision.decision}{mode}",
                      artifact=f"policy set {decision.policy_set}" if decision.policy_set else "",
                      style=CALL if allowed else FAILURE, party=_policies(decision.policies))]
    if not decision.forwarded:
        return [*steps, FlowStep(GATEWAY, AGENT, "403 AccessDenied", "Denied by policy",
                                 artifact=_policies(decision.policies), style=FAILURE)]
    if not last:
        return [*steps, FlowStep(GATEWAY, IDENTITY, "GetResourceOAuth2Token", "no token yet", style=CONSENT,
                                 party=call.provider)]
    return [*steps, *_delivery(call, decision.injected_fingerprint)]


def _delivery(call: ToolCallRecord, injected: str = "") -> list[FlowStep]:
    """The token the gateway injects (never the app's to see), and the call it makes with it."""
    artifact = f"{injected} · {NEVER_HELD}" if injected else NEVER_HELD
    return [FlowStep(GATEWAY, IDENTITY, "injected token (GetResourceOAuth2Token)", "ok", artifact=artifact,
                     party=call.provider),
            FlowStep(GATEWAY, SERVICE, call.tool, "ok" if call.ok else "failed", call.latency_ms,
                     style=CALL if call.ok else FAILURE)]


def _card_only_steps(call: ToolCallRecord) -> list[FlowStep]:
    """No decision records (cloud mode, or none kept): what the card says the gateway did."""
    if call.denied_by is not None:
        return _decision_steps(call, GatewayDecision(0.0, "DENY", call.denied_by), last=True)
    return [FlowStep(AGENT, GATEWAY, f"tools/call {call.tool}", "Bearer workload access token",
                     artifact=call.fingerprint), *_delivery(call)]


def _gateway_activity_steps(entry: Activity, pending: list[ConsentRecord]) -> list[FlowStep]:
    """An identity call of a gateway tool call: the workload access token, or the consent the gateway asked for."""
    detail = _short(entry.detail, DETAIL_CHARS)
    if entry.action == "cache" and entry.provider == "workload":
        return [FlowStep(AGENT, AGENT, "cache", entry.outcome, entry.latency_ms, detail, CACHE,
                         "workload access token (for the ID token)")]
    if entry.action in _WORKLOAD_ACTIONS:
        return [FlowStep(AGENT, IDENTITY, f"{entry.action} (ID token → workload access token)", entry.outcome,
                         entry.latency_ms, detail, _outcome_style(entry.outcome))]
    if entry.action == ELICITATION_ACTION:
        consent = pending.pop(0) if pending else ConsentRecord(entry.provider, ())
        return [FlowStep(GATEWAY, AGENT, "-32042 URL elicitation", entry.outcome, style=CONSENT, party=entry.provider),
                *_consent_steps(consent)]
    if entry.action == "GetResourceOAuth2Token" and not entry.trace.turn_id:
        return [FlowStep(APP, IDENTITY, entry.action, entry.outcome, entry.latency_ms,
                         "the vault holds it now (the broker's check; dropped, never used)",
                         _outcome_style(entry.outcome), entry.provider)]
    return _activity_steps(entry, pending)


def gateway_flow_steps(turn: TurnRecord, call: ToolCallRecord, activity: Sequence[Activity],
                       decisions: Sequence[GatewayDecision]) -> list[FlowStep]:
    """A gateway tool call's sequence: its identity calls and the gateway's decisions in the order they happened,
    ending at the order service, or at the decision that denied it."""
    steps = [FlowStep(USER, APP, "asks", f"“{_short(turn.prompt, PROMPT_CHARS)}”"),
             FlowStep(APP, AGENT, "runs the turn", "for the verified user")]
    pending = list(call.consents)
    timeline = sorted([(entry.at, 0, index) for index, entry in enumerate(activity)]
                      + [(decision.at, 1, index) for index, decision in enumerate(decisions)])
    for _, kind, index in timeline:
        if kind == 0:
            steps += _gateway_activity_steps(activity[index], pending)
            continue
        drawn = _decision_steps(call, decisions[index], last=index == len(decisions) - 1)
        steps += drawn
        if not decisions[index].forwarded:
            return steps  # denied: nothing went further
    return steps if decisions else steps + _card_only_steps(call)


# -- DOT --------------------------------------------------------------------------------------------------
def dot_text(text: str) -> str:
    """`text` for a double-quoted DOT label: backslashes and quotes escaped, line breaks as DOT's `\\n`, other
    control characters dropped. Names come from configuration and messages from services: none may end the
    string, add attributes or statements, or trigger Graphviz's own escapes (`\\N`, `\\G`, `\\l`, …)."""
    lines = "".join(ch if ch == "\n" or ch >= " " else " " for ch in text.replace("\r\n", "\n"))
    return lines.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _latency(ms: float | None) -> str:
    if ms is None:
        return ""
    return f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"


def _edge_label(step: FlowStep) -> str:
    second = " · ".join(part for part in (step.outcome, _latency(step.latency_ms)) if part)
    return "\n".join(part for part in (step.action, step.party, second, step.artifact) if part)


def _edge(source: str, target: str, label: str, style: str) -> str:
    colour, line, width = _STYLES[style]
    loop = ", dir=back" if source == target else ""
    return (f'  {source} -> {target} [label="{dot_text(label)}", color="{colour}", fontcolor="{colour}", '
            f'style={line}, penwidth={width}, constraint=false{loop}];')


def _rows(lanes: Sequence[str], count: int) -> list[str]:
    lines = []
    for row in range(1, count + 1):
        points = " ".join(f'{lane}_{row} [shape=point, width=0.05, color="#9aa0a6", group={lane}];' for lane in lanes)
        lines.append(f"  {{ rank=same; {points} }}")
    for lane in lanes:  # the lifelines: a dashed line down from each header
        chain = " -> ".join(f"{lane}_{row}" for row in range(count + 1))
        lines.append(f'  {chain} [style=dashed, color="#c4c9d0", arrowhead=none, weight=100];')
    return lines


def _legend(below: str) -> list[str]:
    """The legend, in a box under the diagram's last row (`below`)."""
    lines = ['  subgraph cluster_legend { label="Legend"; fontsize=11; color="#c4c9d0";']
    for index, (style, text) in enumerate(_LEGEND):
        colour, line, width = _STYLES[style]
        lines.append(f'    legend_{index}a [shape=point, width=0.01, style=invis]; '
                     f'legend_{index}b [shape=plaintext, fontsize=10, label="{dot_text(text)}", fontcolor="{colour}"];')
        lines.append(f'    legend_{index}a -> legend_{index}b [color="{colour}", style={line}, penwidth={width}];')
    lines.append("  }")
    lines.append(f"  {below} -> legend_0a [style=invis];")
    return lines


def flow_dot(steps: Sequence[FlowStep], lane_names: Mapping[str, str] | None = None,
             lanes: Sequence[str] = LANES) -> str:
    """The steps as a Graphviz sequence diagram: a column per party, a row per step, the legend below."""
    names = lane_names or {}
    headers = " ".join(
        f'{lane}_0 [shape=box, style="rounded,filled", fillcolor="#eef2f7", color="#9aa0a6", group={lane}, '
        f'label="{dot_text(_LANE_TITLES[lane] + (chr(10) + names[lane] if names.get(lane) else ""))}"];'
        for lane in lanes)
    lines = ["digraph flow {", '  graph [rankdir=TB, splines=false, nodesep=0.5, ranksep=0.5, fontname="Helvetica"];',
             '  node [fontname="Helvetica", fontsize=12];', '  edge [fontname="Helvetica", fontsize=11];',
             f"  {{ rank=same; {headers} }}",
             "  " + " -> ".join(f"{lane}_0" for lane in lanes) + " [style=invis];"]
    lines += _rows(lanes, len(steps))
    for row, step in enumerate(steps, start=1):
        lines.append(_edge(f"{step.source}_{row}", f"{step.target}_{row}", _edge_label(step), step.style))
    lines += _legend(f"{lanes[0]}_{len(steps)}")
    lines.append("}")
    return "\n".join(lines)
