"""The error codes Agent Identity's control plane answers.

Most are the shared RPC families (`localcloud.rpc.errors`) with this service's entity names:

* `EntityNotExist.<Kind>` / `EntityAlreadyExists.<Kind>` for `IdentityProvider`, `WorkloadIdentity`,
  `OAuth2CredentialProvider`, `APIKeyCredentialProvider`, `PolicySet`, `Policy` (and `EntityNotExist.TokenVault`
  for any vault but the default one, `EntityNotExist.GatewayPolicyConfig` for a gateway with no policy set);
* `DeleteConflict.IdentityProvider`: an identity provider a workload identity still uses;
* `DeleteConflict.PolicySet.Gateway` / `DeleteConflict.PolicySet.Policy`: a policy set still attached to a gateway,
  or still holding policies (RAM's `DeleteConflict.<Entity>.<Dependent>` style);
* `InvalidParameter.<Name>` / `MissingParameter.<Name>` for the request's parameters (`InvalidParameter.Definition`
  carries the Cedar engine's message for a statement it refuses).

Its own:

* `GatewayAlreadyAttached` (409): a gateway has one policy set at most.
"""

from __future__ import annotations

from localcloud.rpc.errors import ServiceError

__all__ = ["GatewayAlreadyAttached"]


class GatewayAlreadyAttached(ServiceError):
    code = "GatewayAlreadyAttached"
    status = 409
