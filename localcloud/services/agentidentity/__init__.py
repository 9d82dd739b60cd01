"""Agent Identity control plane, API 2025-09-01 (`alibabacloud_agentidentity20250901`).

Identity providers, workload identities and the token vault's OAuth2 and API key credential providers,
each with Create/Get/List/Update/Delete; policy sets of Cedar policies and the gateways they are attached to.
Resources belong to the calling account.

* `service.py`: `SERVICE`, each action's handler and the RAM resource it touches.
* `records.py`: the resource kinds, the rules their fields obey, and their per-account storage.
* `errors.py`: the error codes the service answers (the shared RPC families, and `GatewayAlreadyAttached`).
* one handler module per resource: `identity_providers.py`, `workload_identities.py`, `oauth2_providers.py`,
  `api_key_providers.py`, `policy_sets.py`, `policies.py`, `gateways.py` (attachments and enforcement mode).
* `policy_records.py`: the policy kinds, their rules (a statement is parsed by the Cedar engine, `localcloud.cedar`)
  and storage, and `gateway_policy`, what a gateway enforces.
"""

from localcloud.services.agentidentity.service import SERVICE

__all__ = ["SERVICE"]
