"""The error codes Agent Identity's control plane answers; it needs no classes of its own.

Every code is one of the shared RPC families (`localcloud.rpc.errors`) with this service's entity names:

* `EntityNotExist.<Kind>` / `EntityAlreadyExists.<Kind>` for `IdentityProvider`, `WorkloadIdentity`,
  `OAuth2CredentialProvider`, `APIKeyCredentialProvider` (and `EntityNotExist.TokenVault` for any vault but
  the default one);
* `DeleteConflict.IdentityProvider`: an identity provider a workload identity still uses;
* `InvalidParameter.<Name>` / `MissingParameter.<Name>` for the request's parameters.
"""

__all__: list[str] = []
