"""Where the sign-in server may send a browser, as pure functions over URI strings.

Two checks, both read the URI as a browser would (WHATWG URL) rather than as text:

- `below_prefix`: a redirect URI under a registered prefix (DingTalk checks a domain, not a URI). A browser
  percent-decodes `%2e` in dot segments, treats `\\` as `/` and drops tabs and newlines before it resolves
  `.` and `..`, so `…/callback/x/%2e%2e/%2e%2e/chat` would land on `/chat`. Rather than re-implement that
  resolution, any path that could be read two ways is refused: dot segments, encoded dots, slashes,
  backslashes or percent signs (`%252e` is not decoded twice, and not let through either), backslashes,
  whitespace and control characters. Real callbacks (`…/oauth2/callback/<uuid>`) need none of them.
- `same_origin`: RP-Initiated Logout's `post_logout_redirect_uri` must share the origin (scheme, host,
  port, normalised) of one of the client's registered redirect URIs.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["below_prefix", "origin", "same_origin"]

# Escapes a browser or a server behind it may decode into a path separator or a dot: `.`, `/`, `\`, `%`.
_AMBIGUOUS_ESCAPE = re.compile(r"%(2e|2f|5c|25)", re.IGNORECASE)
# WHATWG strips tab and newline anywhere and trims C0 controls and spaces: none belongs in a redirect URI.
_UNSAFE_CHARACTER = re.compile(r"[\x00-\x20\x7f\\]")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _plain_path(path: str) -> bool:
    """A path every reader resolves alike: no ambiguous escapes and no `.` or `..` segments."""
    if _AMBIGUOUS_ESCAPE.search(path):
        return False
    return not any(segment in (".", "..") for segment in path.split("/"))


def below_prefix(uri: str, prefix: str) -> bool:
    """Whether `uri` is strictly below `prefix`, however a browser reads it (see the module's docstring)."""
    if not uri.startswith(prefix) or len(uri) <= len(prefix) or "#" in uri or _UNSAFE_CHARACTER.search(uri):
        return False
    path, below = urlsplit(uri).path, urlsplit(prefix).path
    return path.startswith(below) and len(path) > len(below) and _plain_path(path)


def origin(uri: str) -> str | None:
    """`scheme://host:port` of an absolute http(s) URI, lower-cased with the default port made explicit;
    None for anything else, or for a URI a browser might read differently (user info, backslashes, controls)."""
    if _UNSAFE_CHARACTER.search(uri):
        return None
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:  # a port out of range or not a number
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host or "@" in parts.netloc:
        return None
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}:{port or _DEFAULT_PORTS[scheme]}"


def same_origin(uri: str, registered: tuple[str, ...]) -> bool:
    """Whether `uri` (no fragment) shares its origin with one of the `registered` URIs or prefixes."""
    target = origin(uri)
    return target is not None and "#" not in uri and any(origin(candidate) == target for candidate in registered)
