"""Request parsing as pure functions: form bodies, single-valued parameters, client credentials, scopes."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote_plus

from localcloud.oidc.errors import InvalidClient, InvalidRequest, InvalidScope

__all__ = ["MAX_FORM_BYTES", "basic_credentials", "bearer_token", "parse_form", "parse_scope", "single_valued"]

# Every form here is a handful of short fields; a large body is a mistake or an attack.
MAX_FORM_BYTES = 64 * 1024
_FORM_TYPE = "application/x-www-form-urlencoded"
# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


def single_valued(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The parameters as a dict; RFC 6749 §3.1: a parameter sent twice makes the request invalid."""
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise InvalidRequest(f"the parameter '{name}' was sent more than once")
        params[name] = value
    return params


def parse_form(body: bytes, content_type: str | None) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body (the only encoding OAuth endpoints take)."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != _FORM_TYPE:
        raise InvalidRequest(f"send the parameters as {_FORM_TYPE}")
    if len(body) > MAX_FORM_BYTES:
        raise InvalidRequest(f"the request body is larger than {MAX_FORM_BYTES} bytes")
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("the form body is not valid URL-encoded UTF-8") from None
    return single_valued(pairs)


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """`(client_id, secret)` from an HTTP Basic header (RFC 6749 §2.3.1), None if there is no Basic header."""
    if not authorization or authorization[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidClient("the Basic authorization header is not valid base64 of 'client_id:secret'") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id:
        raise InvalidClient("the Basic authorization header is not 'client_id:secret'")
    # The RFC has both halves form-encoded before base64; undoing that is harmless for plain values.
    return unquote_plus(client_id), unquote_plus(secret)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an RFC 6750 `Authorization: Bearer` header, or None."""
    if not authorization or authorization[:7].lower() != "bearer ":
        return None
    token = authorization[7:].strip()
    return token or None


def parse_scope(raw: str | None) -> tuple[str, ...] | None:
    """The space-separated scopes, in order without repeats; None when no scope was requested."""
    if raw is None or not raw.strip(" "):
        return None
    names = [name for name in raw.split(" ") if name]
    for name in names:
        if not _SCOPE_TOKEN.fullmatch(name):
            raise InvalidScope("a scope contains characters RFC 6749 §3.3 does not allow")
    return tuple(dict.fromkeys(names))
