"""Which Host names and Origins the app answers: pure functions over the settings, tested without a socket.

The app answers only for the host of its public URL (`APP_REDIRECT_URI`), for `localhost`, `127.0.0.1` and
`[::1]` on its own ports, and for the names in `APP_ALLOWED_HOSTS` (a reverse proxy's public names). Anything else
is a DNS-rebinding page or a misconfigured proxy: it gets no page and no websocket.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["LOOPBACK_NAMES", "HostAllowlist", "host_allowlist", "split_host"]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def split_host(value: str) -> tuple[str, int | None] | None:
    """`host[:port]` as (lower-case name, port or None); None when it is not a well-formed Host value."""
    value = value.strip().lower()
    if not value or any(ch in value for ch in "/\\@?# \t"):
        return None
    if value.startswith("["):  # an IPv6 literal keeps its brackets, as in URLs
        name, _, rest = value.partition("]")
        name, port_text = name + "]", rest.removeprefix(":") if rest.startswith(":") else None
        if rest and port_text is None:
            return None
    else:
        name, colon, port_text = value.partition(":")
        port_text = port_text if colon else None
    if port_text is None:
        return name, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return None
    return name, int(port_text)


@dataclass(frozen=True)
class HostAllowlist:
    """Allowed (name, port) pairs; a port of None allows the name on any port."""

    pairs: frozenset[tuple[str, int | None]]
    default_ports: frozenset[int]   # a Host without a port means one of these (the app URL's scheme default)
    https: bool = False             # the app's public URL is https: every cookie it sets must be Secure

    def permits(self, host: str | None) -> bool:
        """Whether a Host header (or an Origin's host part) names this app."""
        parsed = split_host(host or "")
        if parsed is None:
            return False
        name, port = parsed
        ports = {port} if port is not None else set(self.default_ports)
        return (name, None) in self.pairs or any((name, candidate) in self.pairs for candidate in ports)

    def permits_origin(self, origin: str | None) -> bool:
        """Whether a browser's Origin is this app's own: http(s), an allowed host, no path or credentials."""
        if not origin:
            return False
        parts = urlsplit(origin)
        if parts.scheme not in _DEFAULT_PORTS or parts.path not in ("", "/") or parts.query or "@" in parts.netloc:
            return False
        parsed = split_host(parts.netloc)
        if parsed is None:
            return False
        port = parsed[1] if parsed[1] is not None else _DEFAULT_PORTS[parts.scheme]
        return (parsed[0], None) in self.pairs or (parsed[0], port) in self.pairs


def host_allowlist(app_url: str, server_ports: Iterable[int], extra_names: Iterable[str]) -> HostAllowlist:
    """The allowlist for an app served at `app_url` and listening on `server_ports`."""
    parts = urlsplit(app_url)
    scheme_port = _DEFAULT_PORTS.get(parts.scheme, 80)
    app_host = split_host(parts.netloc) or ("localhost", None)
    app_port = app_host[1] or scheme_port
    ports = {app_port, *server_ports}
    pairs: set[tuple[str, int | None]] = {(app_host[0], app_port)}
    pairs |= {(name, port) for name in LOOPBACK_NAMES for port in ports}
    for entry in extra_names:
        parsed = split_host(entry)
        if parsed is not None:
            pairs.add(parsed)
    return HostAllowlist(frozenset(pairs), frozenset({scheme_port}), https=parts.scheme == "https")
