"""The emulated Tea-style services, one package each, all with the same shape.

* `__init__.py`: what the service is and which file holds what; it only re-exports (`SERVICE`, and what
  other parts of localcloud use).
* `service.py`: `SERVICE`, the action → handler table and the RAM resource each action touches.
* `records.py`: what the service stores: record kinds and dataclasses, the rules their fields obey, and their
  reads and writes in the Store.
* `errors.py`: the service's own error codes (ServiceError subclasses); where it needs none, the docstring says
  which codes it builds from the shared families in `localcloud.rpc.errors`.
* one handler module per resource, named after it (`roles.py`, `applications.py`, `workload_tokens.py`, ...),
  holding that resource's actions.
* anything else is a supporting module named for what it does (`ram/catalog.py`, `agentidentitydata/routes.py`).
"""

from __future__ import annotations

from localcloud.rpc.service import Service
from localcloud.services import agentidentity, agentidentitydata, ims, ram, sts
from localcloud.services.ram import role_policy_documents

__all__ = ["all_services", "role_policy_documents"]


def all_services() -> list[Service]:
    """Every service the RPC front dispatches to, keyed there by API version."""
    return [agentidentity.SERVICE, agentidentitydata.SERVICE, ims.SERVICE, ram.SERVICE, sts.SERVICE]
