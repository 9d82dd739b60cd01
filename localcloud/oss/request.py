"""One OSS request as the verifier and the handlers see it, decoupled from Starlette."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["OssRequest"]


@dataclass(frozen=True)
class OssRequest:
    """A path-style request: `/{bucket}/{key}` with the key percent-decoded (empty for bucket operations)."""

    method: str
    bucket: str
    key: str
    query: tuple[tuple[str, str], ...]  # decoded, blank values kept: oss2 signs `continuation-token=` as a name
    headers: Mapping[str, str]  # lower-case names
    body: bytes = b""

    @property
    def query_dict(self) -> dict[str, str]:
        return dict(self.query)

