"""Form bodies as the OAuth endpoints and pages take them: URL-encoded UTF-8, every parameter once."""

from __future__ import annotations

from urllib.parse import parse_qsl

from localcloud.orders.errors import InvalidRequest

__all__ = ["parse_form"]

_FORM_TYPE = "application/x-www-form-urlencoded"


def parse_form(body: bytes, content_type: str | None) -> dict[str, str]:
    """The form's fields; InvalidRequest for another encoding, bad UTF-8 or a parameter sent twice (RFC 6749 §3.1)."""
    if (content_type or "").split(";", 1)[0].strip().lower() != _FORM_TYPE:
        raise InvalidRequest(f"send the parameters as {_FORM_TYPE}")
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("the form body is not valid URL-encoded UTF-8") from None
    form = dict(pairs)
    if len(form) != len(pairs):
        raise InvalidRequest("a parameter was sent more than once")
    return form
