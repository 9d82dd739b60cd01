"""RAM 2015-05-01 (`alibabacloud_ram20150501`): roles, policies and their attachments."""

from __future__ import annotations

from typing import Any

from localcloud.rpc.service import Principal, Service
from localcloud.store import Store

__all__ = ["SERVICE", "role_policy_documents"]


def role_policy_documents(store: Store, principal: Principal) -> list[dict[str, Any]]:
    return []


SERVICE = Service(product="Ram", code="ram", version="2015-05-01", host="ram.aliyuncs.com", actions={})
