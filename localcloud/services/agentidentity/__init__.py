"""Agent Identity control plane, API 2025-09-01 (`alibabacloud_agentidentity20250901`).

Identity providers, workload identities and the token vault's OAuth2 and API key credential providers,
each with Create/Get/List/Update/Delete. Resources belong to the calling account.

* `service.py`: `SERVICE`, each action's handler and the RAM resource it touches.
* `records.py`: the resource kinds, the rules their fields obey, and their per-account storage.
* `errors.py`: the error codes the service answers (all built from the shared RPC errors).
* one handler module per resource: `identity_providers.py`, `workload_identities.py`, `oauth2_providers.py`,
  `api_key_providers.py`.
"""

from localcloud.services.agentidentity.service import SERVICE

__all__ = ["SERVICE"]
