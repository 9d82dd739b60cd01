"""OSS (Object Storage Service) as oss2 speaks it: path-style GetObject, HeadObject, PutObject, ListObjects v1/v2.

Requests are verified like OSS does (v1 and v4 signatures, STS security tokens, a 15-minute clock window)
against the keys localcloud issued; STS callers are authorized by their role's RAM policies.
"""

from __future__ import annotations

from localcloud.oss.routes import oss_routes

__all__ = ["oss_routes"]
