"""`.config.json`: what provisioning created, in the sample's keys plus ours. Never a secret; mode 0600.

Written after every step (read, merge, write to a temporary file, rename), so an interrupted run leaves
a whole file that the next run resumes from.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from identity.errors import SettingsError

__all__ = ["SAMPLE_KEYS", "read_config", "write_config"]

# The nine keys the sample's prepare writes, which its other scripts and the SDK read.
SAMPLE_KEYS = ("inbound_app_id", "inbound_app_name", "mcp_app_id", "mcp_app_name", "workload_identity_name",
               "role_arn", "identity_provider_name", "api_key_provider_name", "oauth_credential_provider_name")


# The last parse of each file, by its (inode, mtime, size): the broker asks for the workload's name on every credential
# lookup, and a stat is all that costs while the file stays as it is (every write renames a new file in).
_PARSED: dict[Path, tuple[tuple[int, int, int], dict[str, Any]]] = {}


def read_config(path: Path) -> dict[str, Any]:
    """The file's keys, or {} when there is none (a copy: callers may change it)."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise SettingsError(f"{path} cannot be read ({exc.__class__.__name__}): fix it, or move it away to "
                            "start afresh.") from None
    version = (status.st_ino, status.st_mtime_ns, status.st_size)  # a write renames a new file (a new inode) in
    cached = _PARSED.get(path)
    if cached is None or cached[0] != version:
        cached = (version, _parse(path))
        _PARSED[path] = cached
    return dict(cached[1])


def _parse(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SettingsError(f"{path} cannot be read ({exc.__class__.__name__}): fix it, or move it away to "
                            "start afresh.") from None
    if not isinstance(loaded, dict):
        raise SettingsError(f"{path} must hold a JSON object.")
    return loaded


def write_config(path: Path, values: dict[str, Any]) -> None:
    """Replace the file atomically with `values` (0600); an empty mapping removes it."""
    if not values:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".config-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:  # mkstemp creates it 0600
            json.dump(values, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    os.chmod(path, 0o600)
