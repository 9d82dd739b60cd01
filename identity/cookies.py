"""The app's own cookies: one way to name, set, read and clear them. Pure: header text in, header text out.

Every cookie of the app is HttpOnly, SameSite=Lax and `Path=/`. Over https it also gets `Secure` and the
`__Host-` prefix, which a browser accepts only from a secure, host-only `Set-Cookie` with `Path=/`: so a page on
another port or subdomain of the same host cannot plant or overwrite it. Plain http (localhost) cannot give that
(cookies ignore ports); README says what that leaves open.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

__all__ = ["HOST_PREFIX", "browser_secret", "clear_cookie", "cookie_name", "read_cookie", "set_cookie"]

HOST_PREFIX = "__Host-"
_MAX_SECRET_CHARS = 128  # ours are 43; anything longer is not ours


def cookie_name(base: str, *, secure: bool) -> str:
    """The name a cookie has on this deployment: `__Host-<base>` over https, `<base>` over http."""
    return HOST_PREFIX + base if secure else base


def set_cookie(base: str, value: str, *, secure: bool, max_age: int | None = None) -> str:
    """A `Set-Cookie` value; without `max_age` the cookie ends with the browser session."""
    lifetime = f"; Max-Age={max_age}" if max_age is not None else ""
    return f"{cookie_name(base, secure=secure)}={value}{lifetime}; Path=/; HttpOnly; SameSite=Lax" + (
        "; Secure" if secure else "")


def clear_cookie(base: str, *, secure: bool) -> str:
    """A `Set-Cookie` value that makes the browser drop the cookie."""
    return set_cookie(base, "", secure=secure, max_age=0)


def read_cookie(cookies: Mapping[str, str], base: str, *, secure: bool) -> str | None:
    """The cookie's value as this deployment names it (over https an unprefixed look-alike is ignored)."""
    return cookies.get(cookie_name(base, secure=secure)) or None


def browser_secret(cookies: Mapping[str, str], base: str, *, secure: bool) -> str:
    """The random value a browser holds in this binding cookie, or a fresh 256-bit one when it holds none (one
    value serves all of a browser's tabs, so a second tab's flow does not void the first's)."""
    value = read_cookie(cookies, base, secure=secure)
    return value if value and len(value) <= _MAX_SECRET_CHARS else secrets.token_urlsafe(32)
