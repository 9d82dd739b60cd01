"""IMS 2019-08-15 (`alibabacloud_ims20190815`): OAuth applications and their secrets."""

from __future__ import annotations

from localcloud.rpc.service import Service

__all__ = ["SERVICE"]

SERVICE = Service(product="Ims", code="ims", version="2019-08-15", host="ims.aliyuncs.com", actions={})
