"""The shared front of every Tea-style (Alibaba Cloud OpenAPI RPC) service localcloud emulates."""

from localcloud.rpc.errors import ServiceError
from localcloud.rpc.service import Call, Principal, Service

__all__ = ["Call", "Principal", "Service", "ServiceError"]
