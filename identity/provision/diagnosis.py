"""Does `.config.json` describe resources of the cloud the app talks to? A few cheap calls, one line of cause.

The file outlives the cloud it was written for: delete `.localcloud/`, point LOCALCLOUD_DATA_DIR elsewhere, switch
keys, or reboot a host whose disk does not survive. Then sign-in would open a popup that says "Unknown
application", and the agent would fail at its first tool. The app checks instead, once per process and after
each Provision or Clear, and every page says what is wrong in one line; Provision repairs it.

`setup_problem` is the pure decision; `gather_facts` makes the calls (caller identity, the inbound application,
the workload identity) through the official clients.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from identity.errors import CloudError

if TYPE_CHECKING:
    from identity.clients import Clients
    from identity.cloud import CloudTarget

__all__ = ["SetupFacts", "gather_facts", "needs_check", "setup_problem"]


@dataclass(frozen=True)
class SetupFacts:
    """What the cloud says about the resources `.config.json` records."""

    where: str                      # "this local cloud", "the account of the configured keys"
    mode: str                       # the app's mode: local or cloud
    account_id: str                 # the account the app's keys belong to
    inbound_app_exists: bool
    workload_identity_exists: bool


def setup_problem(config: Mapping[str, Any], facts: SetupFacts) -> str | None:
    """One line naming why the provisioned configuration cannot work here, or None when it can."""
    recorded_mode, recorded_account = config.get("mode"), config.get("account_id")
    if recorded_mode and recorded_mode != facts.mode:
        return (f"`.config.json` was written in {recorded_mode} mode; the app now runs in {facts.mode} mode, "
                f"against {facts.where}.")
    if recorded_account and str(recorded_account) != facts.account_id:
        return (f"`.config.json` was written for account {recorded_account}; {facts.where} is account "
                f"{facts.account_id}.")
    if not facts.inbound_app_exists:
        return (f"The sign-in application {config.get('inbound_app_id')} in `.config.json` does not exist in "
                f"{facts.where}.")
    if not facts.workload_identity_exists:
        return (f"The workload identity {config.get('workload_identity_name')} in `.config.json` does not exist in "
                f"{facts.where}.")
    return None


def needs_check(config: Mapping[str, Any]) -> bool:
    """Only a provisioned configuration has something to check."""
    return bool(config.get("inbound_app_id"))


def gather_facts(config: Mapping[str, Any], target: CloudTarget, clients: Clients) -> SetupFacts:
    """The facts, in at most three calls; raises CloudError when the cloud does not answer."""
    from alibabacloud_agentidentity20250901 import models as agent_identity
    from alibabacloud_ims20190815 import models as ims

    where = "this local cloud" if target.is_local else "the account of the configured keys"
    if target.local is not None:  # the embedded localcloud knows its account: no call needed
        account_id = target.local.account_id
    else:
        account_id = str(clients.sts().get_caller_identity().body.account_id)
    if config.get("account_id") and str(config["account_id"]) != account_id:  # the rest would only fail too
        return SetupFacts(where, target.mode, account_id, inbound_app_exists=True, workload_identity_exists=True)
    app = _exists(lambda: clients.ims().get_application(ims.GetApplicationRequest(app_id=config["inbound_app_id"])))
    name = config.get("workload_identity_name")
    workload = not name or _exists(lambda: clients.control().get_workload_identity(
        agent_identity.GetWorkloadIdentityRequest(workload_identity_name=name)))
    return SetupFacts(where, target.mode, account_id, app, workload)


def _exists(call: Any) -> bool:
    try:
        call()
    except CloudError as error:
        if error.is_not_found:
            return False
        raise
    return True
