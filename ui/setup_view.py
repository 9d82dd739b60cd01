"""The Setup page's view model: StepReports as a table, labels and help texts. Pure: no Streamlit here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from identity.cloud import CloudTarget
from identity.errors import CloudError, IdentityError, ProvisioningError
from identity.provision import ProvisionInputs, StepReport

__all__ = [
    "CLEAR", "COLUMNS", "PLAN", "PROVISION", "STATE_KEY", "SetupState", "clear_warning", "error_help",
    "mcp_console_step", "mode_banner", "outcome_summary", "progress_line", "provision_inputs", "report_table",
    "running_label", "status_label",
]

PLAN, PROVISION, CLEAR = "Plan", "Provision", "Clear"
STATE_KEY = "setup"
COLUMNS = ("Step", "Resource", "Status", "Detail")

_ICONS: dict[str, str] = {
    "create": "➕", "keep": "✅", "drift": "⚠️", "needs input": "✏️", "running": "⏳", "created": "🆕",
    "kept": "✅", "updated": "🔧", "skipped": "⏭️", "deleted": "🗑️", "absent": "▫️", "failed": "❌",
}
# What to press after a failure; Provision and Clear both pick up where they stopped (.config.json).
_AGAIN: dict[str, str] = {
    PLAN: "press Plan again",
    PROVISION: "press Provision again: it resumes where it stopped",
    CLEAR: "press Clear again: it continues with what is left",
}
# Advice by the service's error code prefix; the first match wins.
_ADVICE: tuple[tuple[tuple[str, ...], str], ...] = (
    (("Throttling",), "The service is rate-limiting this account: wait a minute, then {again}."),
    (("Forbidden", "NoPermission", "NotAuthorized", "AccessDenied"),
     "The access key lacks a permission for this call: grant it to the RAM user (agentidentity:*, ram:*Role*, "
     "ram:*Policy*, ims:*Application*), then {again}."),
    (("InvalidAccessKeyId", "SignatureDoesNotMatch", "IncompleteSignature", "InvalidAccessKeySecret"),
     "The access key was refused: check ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET, restart the app, then {again}."),
    (("ConnectionFailed",), "The service did not answer: check the network and the endpoint, then {again}."),
    (("EntityAlreadyExists",), "A resource with this name exists but is not recorded as this deployment's: "
     "delete or rename it, then {again}."),
    (("QuotaExceeded", "LimitExceeded"), "An account quota is used up: delete unused resources of this kind, "
     "then {again}."),
)


@dataclass
class SetupState:
    """The page's per-user state: the last table and what the last action said."""

    reports: list[StepReport] | None = None
    summary: str = ""
    error: str = ""
    clear_armed: bool = False  # Clear was pressed once; only the confirm button deletes

    def finished(self, action: str, reports: Sequence[StepReport]) -> None:
        """Record a successful action and its table."""
        self.reports, self.summary, self.error = list(reports), outcome_summary(action, reports), ""
        self.clear_armed = False

    def failed(self, action: str, reports: Sequence[StepReport], error: IdentityError) -> None:
        """Record a failed action: the steps reported so far and what to do."""
        self.reports, self.summary, self.error = list(reports), "", error_help(action, error)
        self.clear_armed = False


def status_label(status: str) -> str:
    """A status with its icon in front, e.g. the plan's 'create'."""
    return f"{_ICONS.get(status, '•')} {status}"


def report_table(reports: Iterable[StepReport]) -> pd.DataFrame:
    """One row per step, in the order reported."""
    rows = [(r.title, r.resource, status_label(r.status), r.detail) for r in reports]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def progress_line(report: StepReport) -> str:
    """One markdown line for a step while apply or destroy runs."""
    detail = f" ({report.detail})" if report.detail else ""
    return f"{status_label(report.status)} — **{report.title}**: `{report.resource}`{detail}"


def running_label(action: str) -> str:
    """The progress box's title while an action runs."""
    return {PROVISION: "Provisioning…", CLEAR: "Clearing…"}.get(action, "Planning…")


def outcome_summary(action: str, reports: Sequence[StepReport]) -> str:
    """E.g. 'Provision finished: 10 created, 1 kept.'"""
    counts = Counter(r.status for r in reports)
    parts = ", ".join(f"{n} {_plan_phrase(status) if action == PLAN else status}" for status, n in counts.items())
    return f"{action} finished: {parts or 'no steps'}."


def _plan_phrase(status: str) -> str:
    return {"create": "to create", "keep": "to keep", "drift": "drifted", "needs input": "need input"}.get(
        status, status)


def error_help(action: str, error: IdentityError) -> str:
    """What failed (step, service code and message) and what to do next, as markdown."""
    step, cause = (error.step, error.cause) if isinstance(error, ProvisioningError) else (None, error)
    where = f"**{step}** failed" if step else f"{action} failed"
    if not isinstance(cause, CloudError):
        return f"{where}: {cause}\n\nFix the cause, then {_AGAIN.get(action, _AGAIN[PLAN])}."
    request = f" (request id `{cause.request_id}`)" if cause.request_id else ""
    return f"{where} with `{cause.code}`: {cause.message}{request}\n\n{_advice(action, cause.code)}"


def _advice(action: str, code: str) -> str:
    again = _AGAIN.get(action, _AGAIN[PLAN])
    for prefixes, text in _ADVICE:
        if code.startswith(prefixes):
            return text.format(again=again)
    return f"Fix the cause, then {again}."


def mode_banner(target: CloudTarget, config: Mapping[str, Any]) -> str:
    """Where calls go: the local cloud, or the Alibaba Cloud account and region."""
    if target.is_local:
        return target.banner()
    account = config.get("account_id") or "not read yet (press Plan)"
    return f"Running on Alibaba Cloud: account {account}, region {target.region} ({target.control_endpoint})."


def clear_warning(config: Mapping[str, Any], config_path: Path) -> str:
    """What the Clear confirmation says will be deleted."""
    created = list(config.get("created") or [])
    if not created:
        return (f"{config_path.name} records nothing that Provision created: Clear only tidies that record. "
                "Resources that existed before Provision are never deleted.")
    return (f"Clear deletes the {len(created)} resources Provision created ({', '.join(sorted(created))}), last "
            f"first, and then removes {config_path.name}. Resources that existed before Provision are kept. "
            "This cannot be undone.")


def mcp_console_step(config: Mapping[str, Any], mcp_server: str | None) -> str:
    """The sample's manual step in the MCP console, with this deployment's MCP app name."""
    app = config.get("mcp_app_name")
    name = f"`{app}`" if app else "the MCP app (its name appears here after Provision)"
    endpoint = f"`MCP_SERVER` is set to `{mcp_server}`." if mcp_server else "`MCP_SERVER` is not set yet."
    return ("**Manual step in the MCP console.** In the api.aliyun.com MCP console, open the official "
            f"**resourcecenter** MCP server, set {name} as its OAuth app, then put the server's streamable-HTTP "
            f"endpoint in `MCP_SERVER` and restart the app. {endpoint}")


def provision_inputs(api_key: str | None, dingtalk_client_id: str | None,
                     dingtalk_client_secret: str | None) -> ProvisionInputs:
    """The cloud-mode fields as ProvisionInputs; an empty field means 'not given'."""
    return ProvisionInputs(api_key=_given(api_key), dingtalk_client_id=_given(dingtalk_client_id),
                           dingtalk_client_secret=_given(dingtalk_client_secret))


def _given(value: str | None) -> str | None:
    return (value.strip() or None) if value else None
