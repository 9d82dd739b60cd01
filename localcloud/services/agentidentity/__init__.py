"""Agent Identity control plane, API 2025-09-01 (`alibabacloud_agentidentity20250901`)."""

from __future__ import annotations

from localcloud.rpc.service import Service

__all__ = ["SERVICE"]

SERVICE = Service(product="AgentIdentity", code="agentidentity", version="2025-09-01",
                  host="agentidentity.cn-beijing.aliyuncs.com", actions={})
