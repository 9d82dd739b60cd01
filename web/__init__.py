"""The app's HTTP layer beside Streamlit's own: the guard in front of every request (`guard`) and the pure rules it
applies to Host names and Origins (`hosts`)."""

from web.guard import AppGuard
from web.hosts import HostAllowlist, host_allowlist

__all__ = ["AppGuard", "HostAllowlist", "host_allowlist"]
