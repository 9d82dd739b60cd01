"""`MaxResults`/`NextToken` paging as the Agent Identity list actions do it."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any, TypeVar

from localcloud.rpc.errors import InvalidParameter
from localcloud.rpc.params import Params

__all__ = ["page"]

T = TypeVar("T")
DEFAULT_MAX_RESULTS = 10
LIMIT_MAX_RESULTS = 100



def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode(token: str) -> int:
    try:
        kind, _, number = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        offset = int(number)
    except (ValueError, UnicodeDecodeError):
        raise InvalidParameter("NextToken", "it is not a token returned by a previous list call.") from None
    if kind != "offset" or offset < 0:
        raise InvalidParameter("NextToken", "it is not a token returned by a previous list call.")
    return offset


def page(items: Sequence[T], params: Params) -> tuple[list[T], dict[str, Any]]:
    """One page of `items` and the paging fields to merge into the response."""
    max_results = params.int("MaxResults", default=DEFAULT_MAX_RESULTS, low=1, high=LIMIT_MAX_RESULTS)
    assert max_results is not None
    token = params.str("NextToken", max_len=256)
    start = _decode(token) if token else 0
    chosen = list(items[start:start + max_results])
    fields: dict[str, Any] = {"MaxResults": max_results, "TotalCount": len(items)}
    if start + max_results < len(items):
        fields["NextToken"] = _encode(start + max_results)
    return chosen, fields
