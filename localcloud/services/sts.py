"""STS 2015-04-01 (`alibabacloud_sts20150401`)."""

from __future__ import annotations

from localcloud.rpc.service import Service

__all__ = ["SERVICE"]

SERVICE = Service(product="Sts", code="sts", version="2015-04-01", host="sts.aliyuncs.com", actions={})
