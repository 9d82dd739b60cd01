"""localcloud: an embedded emulator of the Alibaba Cloud services the dashboard uses.

It speaks the real wire protocols (Tea RPC with ACS3/v2 signatures, ...) so the official SDK clients
work against it unchanged. Start it with `start()` (a daemon thread) or `python -m localcloud`.
"""

from localcloud.server import LocalCloud, LocalCloudError, start

__all__ = ["LocalCloud", "LocalCloudError", "start"]
