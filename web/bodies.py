"""Reading a request body without trusting its size: at most `limit` bytes are ever buffered."""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request

__all__ = ["read_body"]


async def read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is larger than `limit` (reading stops there); b"" if the client went away."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
    except ClientDisconnect:
        return b""
    return b"".join(chunks)
