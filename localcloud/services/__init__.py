"""The emulated Tea-style services, one module (or package) each with the same shape."""

from __future__ import annotations

from localcloud.rpc.service import Service
from localcloud.services import agentidentity, agentidentitydata, ims, ram, sts
from localcloud.services.ram import role_policy_documents

__all__ = ["all_services", "role_policy_documents"]


def all_services() -> list[Service]:
    """Every service the RPC front dispatches to, keyed there by API version."""
    return [agentidentity.SERVICE, agentidentitydata.SERVICE, ims.SERVICE, ram.SERVICE, sts.SERVICE]
