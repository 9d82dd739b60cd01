"""ListObjects (v1) and ListObjectsV2 as pure functions: parameters in, one page of keys and prefixes out.

With a delimiter, keys that share the text up to the first delimiter after the prefix roll up into one
CommonPrefix. A page resumes after the last entry (key or prefix) of the previous one; since rolled-up
entries sort in key order, "skip everything that rolls up to <= the marker" never repeats or loses one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from localcloud.oss.errors import InvalidArgument
from localcloud.oss.models import StoredObject

__all__ = ["ListPage", "ListParams", "decode_token", "encode_token", "list_page", "list_params"]

_DEFAULT_MAX_KEYS, _MAX_MAX_KEYS, _MAX_PREFIX_BYTES = 100, 1000, 1023


@dataclass(frozen=True)
class ListParams:
    """The query of a list request, validated."""

    version: int  # 1 or 2
    prefix: str = ""
    delimiter: str = ""
    marker: str = ""  # v1 `marker`, or v2 `start-after`
    continuation_token: str = ""
    max_keys: int = _DEFAULT_MAX_KEYS
    url_encoded: bool = False
    fetch_owner: bool = False

    @property
    def after(self) -> str:
        """Where this page starts: a v2 continuation token wins over start-after."""
        return decode_token(self.continuation_token) if self.continuation_token else self.marker


@dataclass(frozen=True)
class ListPage:
    objects: list[StoredObject]
    prefixes: list[str]
    truncated: bool
    next_marker: str  # the last entry returned, when truncated

    @property
    def key_count(self) -> int:
        return len(self.objects) + len(self.prefixes)


def encode_token(marker: str) -> str:
    """An opaque v2 continuation token (URL-safe, so encoding-type=url leaves it unchanged)."""
    return base64.urlsafe_b64encode(marker.encode()).decode().rstrip("=")


def decode_token(token: str) -> str:
    """The marker inside a continuation token; InvalidArgument if it is not one of ours."""
    try:
        padded = token + "=" * (-len(token) % 4)
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidArgument("The continuation token is not valid.", "continuation-token", token[:64]) from None


def list_params(query: Mapping[str, str]) -> ListParams:
    """Validate a list request's query (oss2 sends every parameter, empty when unused)."""
    version = {"": 1, "2": 2}.get(query.get("list-type", ""))
    if version is None:
        raise InvalidArgument("list-type must be 2 (ListObjectsV2) or absent.", "list-type", query["list-type"][:16])
    encoding = query.get("encoding-type", "")
    if encoding not in ("", "url"):
        raise InvalidArgument("encoding-type must be url or absent.", "encoding-type", encoding[:16])
    prefix = query.get("prefix", "")
    if len(prefix.encode()) > _MAX_PREFIX_BYTES:
        raise InvalidArgument("The prefix is longer than 1023 bytes.", "prefix", prefix[:64])
    marker = query.get("marker" if version == 1 else "start-after", "")
    token = query.get("continuation-token", "") if version == 2 else ""
    if token:
        decode_token(token)
    return ListParams(version, prefix, query.get("delimiter", ""), marker, token, _max_keys(query),
                      encoding == "url", query.get("fetch-owner", "") == "true")


def _max_keys(query: Mapping[str, str]) -> int:
    raw = query.get("max-keys", "") or str(_DEFAULT_MAX_KEYS)
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= _MAX_MAX_KEYS:
        raise InvalidArgument(f"max-keys must be an integer from 1 to {_MAX_MAX_KEYS}.", "max-keys", raw[:16])
    return int(raw)


def _roll_up(key: str, prefix: str, delimiter: str) -> str | None:
    """The CommonPrefix a key rolls up into, or None when it is listed as itself."""
    if not delimiter:
        return None
    cut = key.find(delimiter, len(prefix))
    return key[:cut + len(delimiter)] if cut >= 0 else None


def list_page(objects: Sequence[StoredObject], params: ListParams) -> ListPage:
    """One page of a bucket's objects (sorted by key) under the request's prefix, delimiter and marker."""
    found: list[StoredObject] = []
    prefixes: list[str] = []
    after, last = params.after, ""
    for stored in objects:
        if not stored.key.startswith(params.prefix):
            continue
        common = _roll_up(stored.key, params.prefix, params.delimiter)
        entry = common if common is not None else stored.key
        if (after and entry <= after) or (common is not None and prefixes and prefixes[-1] == common):
            continue
        if len(found) + len(prefixes) == params.max_keys:
            return ListPage(found, prefixes, True, last)
        if common is not None:
            prefixes.append(common)
        else:
            found.append(stored)
        last = entry
    return ListPage(found, prefixes, False, "")
