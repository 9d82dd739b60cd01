"""STS's `SERVICE`: every action's handler, and the RAM resource it touches."""

from __future__ import annotations

from localcloud.rpc.service import Call, Service
from localcloud.services.sts.caller_identity import get_caller_identity
from localcloud.services.sts.role_sessions import assume_role

__all__ = ["SERVICE"]


def _resource(call: Call) -> str:
    return (call.params.str("RoleArn") or "*") if call.action == "AssumeRole" else "*"


SERVICE = Service(product="Sts", code="sts", version="2015-04-01", host="sts.aliyuncs.com",
                  actions={"GetCallerIdentity": get_caller_identity, "AssumeRole": assume_role}, resource=_resource,
                  # Like the real STS, anyone holding valid keys may ask who they are.
                  unrestricted=frozenset({"GetCallerIdentity"}))
