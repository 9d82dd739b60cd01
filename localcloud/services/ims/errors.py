"""The error codes IMS answers; it needs no classes of its own.

Every code is one of the shared RPC families (`localcloud.rpc.errors`) with this service's entity names:

* `EntityNotExist.Application`, `EntityAlreadyExists.Application` (an AppName taken in the account),
  `EntityNotExist.AppSecret`;
* `LimitExceeded.AppSecret`: an application already has its maximum of secrets;
* `InvalidParameter.<Name>` / `MissingParameter.<Name>` for the request's parameters (`InvalidParameter.AppId`
  for a secret asked for a public client).
"""

__all__: list[str] = []
