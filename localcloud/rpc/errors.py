"""Errors the RPC front answers in Alibaba Cloud's JSON shape.

Tree::

    ServiceError                      root: any error answered as {"Code", "Message", ...}
    ├── MissingParameter              400  MissingParameter.<Name>
    ├── InvalidParameter              400  InvalidParameter.<Name>
    ├── EntityNotExist                404  EntityNotExist.<Kind>
    ├── EntityAlreadyExists           409  EntityAlreadyExists.<Kind>
    ├── DeleteConflict                409  DeleteConflict.<What>
    ├── LimitExceeded                 409  LimitExceeded.<What>
    ├── AuthenticationError           the request's signature or key is not acceptable
    │   ├── IncompleteSignature       400
    │   ├── SignatureDoesNotMatch     400
    │   ├── AccessKeyNotFound         404  InvalidAccessKeyId.NotFound
    │   ├── SignatureNonceUsed        400
    │   ├── TimestampExpired          400  InvalidTimeStamp.Expired
    │   └── InvalidSecurityToken      400  InvalidSecurityToken.<Why>
    ├── NoPermission                  403  the caller's policies do not allow the action
    ├── UnknownAction                 404  InvalidAction.NotFound
    └── UnknownVersion                400  InvalidVersion

The wire code is a class attribute, or built from the parameter/entity name for the families.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AccessKeyNotFound",
    "AuthenticationError",
    "DeleteConflict",
    "EntityAlreadyExists",
    "EntityNotExist",
    "IncompleteSignature",
    "InvalidParameter",
    "InvalidSecurityToken",
    "LimitExceeded",
    "MissingParameter",
    "NoPermission",
    "ServiceError",
    "SignatureDoesNotMatch",
    "SignatureNonceUsed",
    "TimestampExpired",
    "UnknownAction",
    "UnknownVersion",
]


class ServiceError(Exception):
    """An error answered to the client as Alibaba Cloud's JSON error document."""

    code: str = "InternalError"
    status: int = 500
    recommend: str = ""

    def __init__(self, message: str, *, code: str | None = None, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.detail = detail

    def to_body(self, request_id: str, host_id: str) -> dict[str, Any]:
        """The JSON error document the Tea clients parse into ClientException/ServerException."""
        body: dict[str, Any] = {
            "RequestId": request_id,
            "Code": self.code,
            "Message": self.message,
            "HostId": host_id,
            "Recommend": self.recommend or f"Check the request against the API reference of {host_id}.",
        }
        if self.detail is not None:
            body["AccessDeniedDetail"] = self.detail
        return body


class MissingParameter(ServiceError):
    status = 400

    def __init__(self, name: str) -> None:
        super().__init__(f"The input parameter {name} that is mandatory for processing this request is not supplied.",
                         code=f"MissingParameter.{name}")


class InvalidParameter(ServiceError):
    status = 400

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"The parameter {name} is invalid: {why}", code=f"InvalidParameter.{name}")


class EntityNotExist(ServiceError):
    status = 404

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"The {kind} '{name}' does not exist.", code=f"EntityNotExist.{kind}")


class EntityAlreadyExists(ServiceError):
    status = 409

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"The {kind} '{name}' already exists.", code=f"EntityAlreadyExists.{kind}")


class DeleteConflict(ServiceError):
    status = 409

    def __init__(self, what: str, message: str) -> None:
        super().__init__(message, code=f"DeleteConflict.{what}")


class LimitExceeded(ServiceError):
    status = 409

    def __init__(self, what: str, message: str) -> None:
        super().__init__(message, code=f"LimitExceeded.{what}")


class AuthenticationError(ServiceError):
    status = 400


class IncompleteSignature(AuthenticationError):
    code = "IncompleteSignature"


class SignatureDoesNotMatch(AuthenticationError):
    code = "SignatureDoesNotMatch"
    recommend = "Check that the AccessKey secret is right and that nothing changed the request after it was signed."


class AccessKeyNotFound(AuthenticationError):
    code = "InvalidAccessKeyId.NotFound"
    status = 404


class SignatureNonceUsed(AuthenticationError):
    code = "SignatureNonceUsed"


class TimestampExpired(AuthenticationError):
    code = "InvalidTimeStamp.Expired"
    recommend = "Sync the client clock: the request time must be within 15 minutes of the server's."


class InvalidSecurityToken(AuthenticationError):
    def __init__(self, why: str, message: str) -> None:
        super().__init__(message, code=f"InvalidSecurityToken.{why}")


class NoPermission(ServiceError):
    code = "NoPermission"
    status = 403


class UnknownAction(ServiceError):
    code = "InvalidAction.NotFound"
    status = 404


class UnknownVersion(ServiceError):
    code = "InvalidVersion"
    status = 400
