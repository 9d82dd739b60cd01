"""Reading a request body without trusting its size: at most `limit` bytes are ever buffered.

The one reader for every server in this repository: the app's `/lc` proxy and the agent service, and localcloud's
sign-in server, OSS and resource services.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request

__all__ = ["read_body"]


async def read_body(request: Request, limit: int, *, drain_to: int = 0) -> bytes | None:
    """The body, or None when it is larger than `limit`; what arrived before the client went away, if it did.

    Reading stops at `limit`, or, with `drain_to`, goes on discarding up to that many bytes, so a client that is
    still sending can read the refusal (an S3-style upload) instead of a reset connection."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max(limit, drain_to):
        return None
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size <= limit:
                chunks.append(chunk)
            elif size > drain_to:
                break
    except ClientDisconnect:
        pass
    return None if size > limit else b"".join(chunks)
