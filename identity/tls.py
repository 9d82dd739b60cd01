"""One TLS context for every outgoing HTTP client of the app (httpx and the MCP client's httpx2 alike).

Building a verifying context loads the CA bundle, which costs tens of milliseconds; a client built per call (the
tools' services, every MCP session, the sign-in server's documents) paid it each time. The context is read-only once
built, and `ssl.SSLContext` is safe to share between threads and clients.
"""

from __future__ import annotations

import functools
import ssl

import httpx

__all__ = ["verified_tls"]


@functools.cache
def verified_tls() -> ssl.SSLContext:
    """The default verifying context (certifi's CA bundle, hostname checks on)."""
    return httpx.create_ssl_context()
