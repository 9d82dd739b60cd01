"""localcloud's own settings: read once from arguments, then the environment, then defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from localcloud.urls import LocalUrls

__all__ = ["DEFAULT_PORT", "LocalCloudSettings", "LocalCloudSettingsError"]

DEFAULT_PORT = 8790
DEFAULT_DATA_DIR = ".localcloud"
DEFAULT_REGION = "cn-beijing"


class LocalCloudSettingsError(ValueError):
    """A localcloud setting is malformed; the message names it and says how to fix it."""


@dataclass(frozen=True)
class LocalCloudSettings:
    port: int
    data_dir: Path
    region: str = DEFAULT_REGION
    public_url: str | None = None  # where browsers reach localcloud's pages; None = its own 127.0.0.1 URL
    host: str = "127.0.0.1"  # never anything else: localcloud trusts whoever can reach it

    @classmethod
    def resolve(cls, port: int | None = None, data_dir: str | Path | None = None,
                public_url: str | None = None) -> LocalCloudSettings:
        """Arguments win over `LOCALCLOUD_PORT` / `LOCALCLOUD_DATA_DIR` / `LOCALCLOUD_REGION`, then defaults."""
        if port is None:
            port = _port_from_env()
        if not 0 <= port <= 65535:
            raise LocalCloudSettingsError(f"port {port} is out of range: use 0 (any free port) to 65535.")
        directory = Path(data_dir or os.environ.get("LOCALCLOUD_DATA_DIR") or DEFAULT_DATA_DIR)
        region = os.environ.get("LOCALCLOUD_REGION") or DEFAULT_REGION
        return cls(port=port, data_dir=directory.expanduser().resolve(), region=region,
                   public_url=_checked_public_url(public_url) if public_url else _public_url_from_env())

    def urls(self, port: int) -> LocalUrls:
        """The URLs of a localcloud serving these settings on `port`."""
        internal = f"http://127.0.0.1:{port}"
        return LocalUrls(internal=internal, public=self.public_url or internal)


def _public_url_from_env() -> str | None:
    raw = os.environ.get("LOCALCLOUD_PUBLIC_URL", "").strip()
    return _checked_public_url(raw) if raw else None


def _checked_public_url(raw: str) -> str:
    raw = raw.strip().rstrip("/")
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise LocalCloudSettingsError(f"LOCALCLOUD_PUBLIC_URL='{raw}' is not a base URL: use e.g. "
                                      "https://demo.example.com/lc (scheme, host and optional path; no query).")
    return raw


def _port_from_env() -> int:
    raw = os.environ.get("LOCALCLOUD_PORT", "").strip()
    if not raw:
        return DEFAULT_PORT
    try:
        return int(raw)
    except ValueError:
        raise LocalCloudSettingsError(f"LOCALCLOUD_PORT='{raw}' is not a port number: set it to e.g. {DEFAULT_PORT}, "
                                      "or 0 for any free port.") from None
