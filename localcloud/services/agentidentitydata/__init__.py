"""Agent Identity data plane, API 2025-11-27 (`alibabacloud_agentidentitydata20251127`).

* `service.py`: `SERVICE`, each action's handler and the RAM resource it touches.
* `records.py`: consent sessions and the token vault, as stored.
* `errors.py`: the data plane's own error codes (workload tokens, consent sessions, providers).
* one handler module per resource: `workload_tokens.py` (GetWorkloadAccessToken*), `credentials.py`
  (AssumeRoleForWorkloadIdentity, GetResourceAPIKey), `oauth2_tokens.py` (GetResourceOAuth2Token,
  CompleteResourceTokenAuth).
* supporting modules: `routes.py` (the consent pages a browser opens), `providers.py` and `provider_http.py`
  (OAuth providers and the HTTP calls to them), `workload_role.py` (the RAM role behind a workload identity).
"""

from localcloud.services.agentidentitydata.routes import consent_routes
from localcloud.services.agentidentitydata.service import SERVICE

__all__ = ["SERVICE", "consent_routes"]
