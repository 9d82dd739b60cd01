"""Plan, apply and destroy the sample's resources.

`plan` compares what should exist with what does (create / keep / drift / needs input); `apply` creates
what is missing, reuses what exists, repairs drift where the API allows, and records every resource in
`.config.json` the moment it exists, so a failed run resumes when run again; `destroy` deletes what apply
created (RAM role and policy included), backwards, tolerating what is already gone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from identity.clients import Clients
from identity.errors import CloudError, ProvisioningError
from identity.provision.deployment import Deployment, ProvisionInputs
from identity.provision.steps import STEPS, Step
from identity.settings import Settings

__all__ = ["StepReport", "apply", "destroy", "plan"]


@dataclass(frozen=True)
class StepReport:
    """One step's outcome, for the CLI and the Setup page."""

    key: str
    title: str
    resource: str
    status: str  # plan: create|keep|drift|needs input; run: running|created|kept|updated|drift|skipped|
    #              deleted|absent|failed
    detail: str = ""
    error: CloudError | None = None


Listener = Callable[[StepReport], None]


def _quiet(report: StepReport) -> None:
    return None


def plan(clients: Clients, settings: Settings, inputs: ProvisionInputs | None = None) -> list[StepReport]:
    """What apply would do, without changing anything."""
    deployment = Deployment.load(clients, settings, inputs, dry_run=True)
    return [_planned(deployment, step) for step in STEPS]


def _planned(deployment: Deployment, step: Step) -> StepReport:
    missing = step.needs(deployment)
    try:
        found = step.find(deployment) if deployment.config.get("deployment_id") or _fixed_name(step) else None
    except CloudError as error:
        return StepReport(step.key, step.title, step.label(deployment), "failed", error.message, error)
    if found is None:
        status, detail = ("needs input", f"needs {missing}") if missing else ("create", "")
        return StepReport(step.key, step.title, step.label(deployment), status, detail)
    drift = step.drift(deployment, found)
    return StepReport(step.key, step.title, step.label(deployment), "drift" if drift else "keep", drift or "")


def _fixed_name(step: Step) -> bool:
    """Steps whose resource names do not depend on this deployment's suffix (they may pre-exist)."""
    return step.key in ("identity_provider", "caller_identity", "mcp_oauth_provider", "dingtalk_oauth_provider",
                        "api_key_provider")


def apply(clients: Clients, settings: Settings, inputs: ProvisionInputs | None = None,
          on_step: Listener = _quiet) -> list[StepReport]:
    """Create what is missing, step by step; raises ProvisioningError at the first failed step."""
    deployment = Deployment.load(clients, settings, inputs)
    deployment.ensure_identity()
    reports = []
    for step in STEPS:
        on_step(StepReport(step.key, step.title, step.label(deployment), "running"))
        report = _applied(deployment, step)
        reports.append(report)
        on_step(report)
        if report.error is not None:
            raise ProvisioningError(step.title, report.error)
    return reports


def _applied(deployment: Deployment, step: Step) -> StepReport:
    label = step.label(deployment)
    try:
        found = step.find(deployment)
        if found is not None:
            return _reused(deployment, step, found)
        missing = step.needs(deployment)
        if missing:
            return StepReport(step.key, step.title, label, "skipped", f"needs {missing}")
        deployment.record(creating=step.key)  # so a crash right after the create still counts as ours
        name = step.create(deployment)
        deployment.mark_created(step.key)
        return StepReport(step.key, step.title, name, "created")
    except CloudError as error:
        return StepReport(step.key, step.title, label, "failed", f"{error.code}: {error.message}", error)


def _reused(deployment: Deployment, step: Step, found: dict) -> StepReport:
    if step.adopt is not None:
        step.adopt(deployment, found)
    if deployment.config.get("creating") == step.key:
        deployment.mark_created(step.key)  # created by the run that failed before recording it
    drift = step.drift(deployment, found)
    if drift and step.update is not None:
        step.update(deployment, found)
        return StepReport(step.key, step.title, step.label(deployment), "updated", f"repaired: {drift}")
    return StepReport(step.key, step.title, step.label(deployment), "drift" if drift else "kept", drift or "")


def destroy(clients: Clients, settings: Settings, on_step: Listener = _quiet) -> list[StepReport]:
    """Delete what apply created, last first; raises ProvisioningError at the first failed step."""
    deployment = Deployment.load(clients, settings)
    reports = []
    for step in reversed(STEPS):
        on_step(StepReport(step.key, step.title, step.label(deployment), "running"))
        report = _destroyed(deployment, step)
        reports.append(report)
        on_step(report)
        if report.error is not None:
            raise ProvisioningError(step.title, report.error)
    leftover = {k: v for k, v in deployment.config.items() if k in _USER_KEYS}
    deployment.config = leftover
    deployment.record()
    return reports


# Keys of `.config.json` that provisioning does not own (anything else it wrote is removed by destroy).
_USER_KEYS: frozenset[str] = frozenset()


def _destroyed(deployment: Deployment, step: Step) -> StepReport:
    label = step.label(deployment)
    if step.key not in deployment.created():
        return StepReport(step.key, step.title, label, "kept" if step.key != "caller_identity" else "absent",
                          "not created by Provision" if step.key != "caller_identity" else "")
    try:
        step.delete(deployment)
    except CloudError as error:
        if not error.is_not_found:
            return StepReport(step.key, step.title, label, "failed", f"{error.code}: {error.message}", error)
        deployment.forget(step.key)
        return StepReport(step.key, step.title, label, "absent", "already gone")
    return StepReport(step.key, step.title, label, "deleted")
