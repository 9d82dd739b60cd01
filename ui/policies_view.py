"""The Policies page's view model: its per-user state, widget keys, texts, the "Try a request" inputs and the
decision table and chart. Pure: no Streamlit here.

Names, descriptions, statements and messages come from the control plane (and so from whoever wrote the policy):
they are shown as inert text or in code views, never as markup.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import altair as alt
import pandas as pd

from identity.errors import CloudError, IdentityError
from identity.governance.decisions import ALLOW, DENY, DecisionRecord, TrialAnswer
from identity.governance.policies import ENFORCE, LOG_ONLY, BoundPolicySet
from identity.governance.starter import ORDER_TOOLS, action
from localcloud.cedar.request import PRINCIPAL_TYPE
from ui.text import code_span, markdown_text

__all__ = [
    "ALL", "ARGUMENTS_MAX", "CLOUD_DECISIONS", "DECISIONS_SHOWN", "DECISION_COLUMNS", "DECISION_FILTERS",
    "DEFAULT_ARGUMENTS", "EXTERNAL_DECISIONS", "MODES", "MODE_KEY", "NEW_FIELDS", "NEW_FORM", "NO_DECISIONS",
    "NO_POLICY", "OTHER_USER", "STATE_KEY", "TOOL_FILTERS", "ArgumentsError", "Notice", "PoliciesState",
    "chosen_user_id", "created_message", "decision_filters", "decision_table", "decisions_chart",
    "decisions_per_minute", "default_arguments", "delete_question", "deleted_message", "edit_keys", "error_text",
    "login_choices", "mode_help", "mode_message", "new_keys", "new_policy_template", "parse_arguments", "policy_key",
    "saved_message", "set_caption", "trial_details", "trial_verdict", "user_choices", "user_labels",
]

STATE_KEY = "policies"
MODE_KEY = "policies_mode"
NEW_FORM = "policies:new:form"  # the New policy form's key (an edit form's is `edit_keys(name)["form"]`)
OTHER_USER = "Another user id…"
ALL = "All"
MODES = (ENFORCE, LOG_ONLY)
TOOL_FILTERS = (ALL, *ORDER_TOOLS)
DECISION_FILTERS = (ALL, ALLOW, DENY)
DECISION_COLUMNS = ("Time", "User", "Tool", "Decision", "Deciding policies", "Mode")
CLOUD_DECISIONS = ("The AI Gateway on Alibaba Cloud writes its decisions to its logs (Simple Log Service): they "
                   "cannot be read from here.")
EXTERNAL_DECISIONS = ("The gateway's decisions are read from the local cloud this app starts itself; this one runs "
                      "elsewhere (LOCALCLOUD_URL): read them with its control token at /_localcloud/gateway/decisions.")
NO_DECISIONS = "No decisions yet: they appear here once the agent calls an order tool through the gateway."
DECISIONS_SHOWN = 200
NO_POLICY = "—"
NEW_FIELDS = ("name", "description", "statement")
ARGUMENTS_MAX = 64 * 1024  # characters of a tried call's arguments, as localcloud's evaluate route bounds its body

DEFAULT_ARGUMENTS: dict[str, dict[str, Any]] = {
    "listOrders": {"status": "pending"},
    "getOrder": {"order_id": "order-001"},
    "createOrder": {"customer_name": "Alice Chen", "items": [{"name": "coffee", "quantity": 2, "unit_price": 3.5}]},
    "deleteOrder": {"order_id": "order-001"},
}
_MODE_HELP = {
    ENFORCE: "a call the policies deny is refused (403)",
    LOG_ONLY: "every call goes through; the gateway only logs what the policies would deny",
}
_DECISION_ICONS = {ALLOW: "🟢", DENY: "🔴"}
_DECISION_COLOURS = ("#2e7d32", "#c62828")  # ALLOW green, DENY red


# -- per-user page state ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Notice:
    """What the last action did, shown once above the policies."""

    level: str  # "success", "info" or "error"
    message: str


@dataclass
class PoliciesState:
    """The page's state for one signed-in user: open editors, a pending delete, results and the last trial."""

    owner: tuple[str, str] | None = None
    editing: str | None = None      # the policy whose editor is open
    deleting: str | None = None     # the policy whose deletion waits for a yes
    notice: Notice | None = None
    form_errors: dict[str, str] = field(default_factory=dict)  # form key → the service's refusal, under that form
    trial: TrialAnswer | None = None
    trial_error: str = ""

    def for_user(self, owner: tuple[str, str]) -> PoliciesState:
        """This state if it is the user's, else a fresh one."""
        return self if self.owner == owner else PoliciesState(owner=owner)

    def done(self, form: str | None, message: str) -> None:
        """An action succeeded: its form closes, the page says what changed, and a trial of the old policies goes."""
        if form is not None:
            self.form_errors.pop(form, None)
        self.editing = self.deleting = self.trial = None
        self.notice = Notice("success", message)

    def refused(self, form: str | None, error: IdentityError) -> None:
        """An action failed: under its form when it has one (the typed text stays there), else above the page."""
        if form is None:
            self.notice = Notice("error", error_text(error))
        else:
            self.form_errors[form] = error_text(error)


def error_text(error: IdentityError) -> str:
    """An error as the user reads it: the service's `code: message`, never a traceback."""
    if isinstance(error, CloudError):
        return f"{code_span(error.code)}: {markdown_text(error.message)}"
    return markdown_text(str(error))


# -- widget keys -------------------------------------------------------------------------------------------------
def policy_key(action: str, name: str) -> str:
    """A policy's widget or container key (`open`, `delete`, `confirm`, `cancel`, `card`). Policy names hold no ':',
    so no two keys of different policies or actions can meet."""
    return f"policies:{action}:{name}"


def edit_keys(name: str) -> dict[str, str]:
    """The widget keys of a policy's editor."""
    return {part: f"policies:edit:{name}:{part}" for part in ("form", "description", "statement", "save", "cancel")}


def new_keys() -> dict[str, str]:
    """The widget keys of the New policy form."""
    return {part: f"policies:new:{part}" for part in ("form", *NEW_FIELDS, "save")}


# -- texts -------------------------------------------------------------------------------------------------------
def set_caption(bound: BoundPolicySet) -> str:
    """Which set is bound to which gateway, in which mode, with how many policies."""
    count = len(bound.policies)
    return (f"Policy set **{markdown_text(bound.name)}** is bound to the AI Gateway {code_span(bound.gateway_arn)} "
            f"in **{markdown_text(bound.enforcement_mode)}** mode: {mode_help(bound.enforcement_mode)}. It holds "
            f"{count} {'policy' if count == 1 else 'policies'}; a call no policy permits is denied.")


def saved_message(name: str) -> str:
    return f"Saved the policy **{markdown_text(name)}**: the gateway applies it from its next call."


def created_message(name: str) -> str:
    return f"Created the policy **{markdown_text(name)}**: the gateway applies it from its next call."


def deleted_message(name: str) -> str:
    return f"Deleted the policy **{markdown_text(name)}**."


def mode_message(mode: str) -> str:
    return f"The gateway now runs in **{markdown_text(mode)}** mode: {mode_help(mode)}."


def mode_help(mode: str) -> str:
    return _MODE_HELP.get(mode, "an enforcement mode this page does not know")


def delete_question(name: str, policy_set: str) -> str:
    return (f"Delete the policy **{markdown_text(name)}** from **{markdown_text(policy_set)}**? The gateway stops "
            "applying it at once. This cannot be undone.")


def new_policy_template(gateway_arn: str) -> str:
    """A statement to start from: everyone may list orders, through the agent."""
    return (f"permit (\n  principal,\n  action == {action('listOrders')},\n"
            f"  resource == AIGateway::Gateway::{json.dumps(gateway_arn)}\n)\nwhen {{ principal has actor }};")


# -- Try a request -----------------------------------------------------------------------------------------------
class ArgumentsError(ValueError):
    """The arguments text is not a JSON object; the message says what is wrong."""


def default_arguments(tool: str) -> str:
    """A sensible example of the tool's arguments, as pretty JSON."""
    return json.dumps(DEFAULT_ARGUMENTS.get(tool, {}), indent=2, ensure_ascii=False)


def parse_arguments(text: str) -> dict[str, Any]:
    """The tool call's arguments typed as a JSON object (empty text: none)."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ArgumentsError(f"The arguments are not valid JSON: {error.msg} (line {error.lineno}, column "
                             f"{error.colno}).") from None
    except RecursionError:
        raise ArgumentsError("The arguments are nested too deeply.") from None
    if not isinstance(value, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "a number or null")
        raise ArgumentsError(f"The arguments must be a JSON object ({{…}}), not {kind}.")
    return value


def user_labels(demo_users: Iterable[tuple[str, str, str]]) -> dict[str, str]:
    """Select-box label → user id, for the local cloud's demo users (login, name, subject)."""
    return {f"{login} ({name})": sub for login, name, sub in demo_users}


def user_choices(demo_users: Iterable[tuple[str, str, str]]) -> list[str]:
    """The user select box: each demo user, then free text."""
    return [*user_labels(demo_users), OTHER_USER]


def chosen_user_id(choice: str | None, other: str, demo_users: Iterable[tuple[str, str, str]]) -> str:
    """The user id to try: the chosen demo user's subject, or the typed id."""
    return user_labels(demo_users).get(choice or "", other.strip())


def trial_verdict(answer: TrialAnswer) -> tuple[str, str]:
    """(level, Markdown): Allow or Deny, the deciding policies, and what the gateway would do in its mode."""
    names = ", ".join(code_span(name) for name in answer.deciding_policies)
    if answer.allowed:
        return "success", f"**Allow**: permitted by {names or 'a policy'}. The gateway lets the call through."
    why = f"forbidden by {names}" if names else "no policy permits it (denied by default)"
    then = ("In LOG_ONLY mode the gateway only logs this and lets the call through." if answer.forwarded
            else "The gateway answers 403 and the call does not reach the order service.")
    return "error", f"**Deny**: {why}. {then}"


def trial_details(answer: TrialAnswer) -> str:
    """The Cedar request the gateway would build, as Markdown lines."""
    context = answer.context
    principal = f"{PRINCIPAL_TYPE}::{json.dumps(answer.request.user_id)}"
    lines = [f"principal {code_span(principal)}", f"Issuer {code_span(context.issuer or 'none')}",
             f"actor {code_span(context.actor_arn or 'none: no workload identity is provisioned')}",
             f"action {code_span(answer.action)}", f"resource {code_span(context.gateway_arn)}"]
    lines += [f"engine: {markdown_text(error)}" for error in answer.errors]
    return "  \n".join(lines)


# -- recent decisions --------------------------------------------------------------------------------------------
def decision_filters(user: str, tool: str, decision: str,
                     demo_users: Iterable[tuple[str, str, str]]) -> tuple[str | None, str | None, str | None]:
    """The log's filters (user id, tool, ALLOW/DENY) from the select boxes (`ALL`: no filter; a user by login)."""
    subjects = {login: sub for login, _name, sub in demo_users}
    return (None if user == ALL else subjects.get(user, user), None if tool == ALL else tool,
            None if decision == ALL else decision)


def _time(record: DecisionRecord) -> str:
    if record.timestamp:
        return datetime.fromtimestamp(record.timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return record.time


def decision_table(records: Sequence[DecisionRecord], demo_users: Iterable[tuple[str, str, str]]) -> pd.DataFrame:
    """One row per decision, newest first as given; a demo user by login name, anyone else by id."""
    logins = {sub: login for login, _name, sub in demo_users}
    rows = [(_time(r), logins.get(r.user, r.user), r.tool, f"{_DECISION_ICONS.get(r.decision, '•')} {r.decision}",
             ", ".join(r.deciding_policies) or NO_POLICY, r.mode) for r in records]
    return pd.DataFrame(rows, columns=list(DECISION_COLUMNS))


def decisions_per_minute(records: Sequence[DecisionRecord]) -> pd.DataFrame:
    """ALLOW and DENY counts per minute (UTC), oldest first: the chart's data."""
    minutes = [datetime.fromtimestamp(r.timestamp, UTC).replace(second=0, microsecond=0, tzinfo=None)
               for r in records]
    frame = pd.DataFrame({"Minute": minutes, "Decision": [r.decision for r in records]})
    counts = pd.crosstab(frame["Minute"], frame["Decision"]) if records else pd.DataFrame()
    counts = counts.reindex(columns=[ALLOW, DENY], fill_value=0).sort_index()
    counts.columns.name = None
    return counts.astype("int64")


def decisions_chart(records: Sequence[DecisionRecord]) -> alt.Chart:
    """Stacked bars of allowed (green) and denied (red) calls per minute, oldest left; a bar's tooltip counts them.
    Minutes are labels (HH:MM UTC, with the date when the records span days), so each gets a bar of its own."""
    counts = decisions_per_minute(records)
    days = {minute.date() for minute in counts.index}
    label = "%m-%d %H:%M" if len(days) > 1 else "%H:%M"
    long = counts.rename_axis("Minute").reset_index().melt(id_vars="Minute", var_name="Decision", value_name="Calls")
    long["Minute"] = [minute.strftime(label) for minute in long["Minute"]]
    order = list(dict.fromkeys(long["Minute"]))
    width = max(4, min(40, 600 // max(1, len(order))))  # one minute is a bar, not the whole chart
    return alt.Chart(long).mark_bar(size=width).encode(
        x=alt.X("Minute:O", sort=order, title="Minute (UTC)", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("Calls:Q", title="Tool calls", axis=alt.Axis(tickMinStep=1)),
        color=alt.Color("Decision:N", scale=alt.Scale(domain=[ALLOW, DENY], range=list(_DECISION_COLOURS)),
                        legend=alt.Legend(title=None, orient="bottom")),
        order=alt.Order("Decision:N", sort="ascending"),
        tooltip=["Minute:O", "Decision:N", "Calls:Q"])


def login_choices(demo_users: Iterable[tuple[str, str, str]]) -> list[str]:
    """The decision table's user filter: everyone, or one demo user by login name."""
    return [ALL, *(login for login, _name, _sub in demo_users)]

