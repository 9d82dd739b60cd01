"""The app's HTTP layer beside Streamlit's own.

`guard` (in front of every request: host allowlist, websocket origin and XSRF, security headers) and the pure
rules it applies (`hosts`); `bodies` (reading a request body within a bound); `local_proxy` (localcloud's browser
pages under `/lc` on the app's origin); `routes` (the one list of the app's own routes, served by app.py and the
tests alike).
"""

from web.guard import AppGuard
from web.hosts import HostAllowlist, host_allowlist

__all__ = ["AppGuard", "HostAllowlist", "host_allowlist"]
