"""The demo bucket the sample's OSS tool reads: created with a few files in the root account.

Its name is `OSS_BUCKET` (default `agent-identity-demo`), read when localcloud starts; every name seen
at a start is remembered in the store's meta, so the bucket survives restarts and is seeded again after
`/_localcloud/reset` (which forgets resources but keeps meta). Seeding is idempotent: it only fills in
a bucket that is missing, and never overwrites objects someone changed.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Mapping

from localcloud.oss.models import BUCKET, BUCKET_NAME, create_bucket, put_object
from localcloud.settings import LocalCloudSettingsError
from localcloud.store import Store

__all__ = ["DEFAULT_DEMO_BUCKET", "demo_bucket_from_env", "ensure_demo_buckets", "remember_demo_bucket"]

DEFAULT_DEMO_BUCKET = "agent-identity-demo"
_META_KEY = "oss_demo_buckets"

_TEXT_FILES: dict[str, tuple[str, str]] = {
    "docs/welcome.md": ("text/markdown", (
        "# Welcome\n\n"
        "This bucket is served by localcloud, the local stand-in for Alibaba Cloud used by the Agent Identity demo.\n"
        "The agent reads it with temporary STS credentials issued for its workload identity, never a root key.\n")),
    "docs/agent-identity.md": ("text/markdown", (
        "# How the demo uses Agent Identity\n\n"
        "1. You sign in; the app gets a workload access token for you from the Agent Identity data plane.\n"
        "2. It exchanges that token for STS credentials of the workload's RAM role (AssumeRoleForWorkloadIdentity).\n"
        "3. The role's policy allows oss:GetObject and oss:ListObjects on this bucket, and nothing else here,\n"
        "   so the agent can list and read these files but cannot write them.\n")),
    "reports/q3-summary.txt": ("text/plain", (
        "Q3 summary (demo data)\n"
        "- Active agents: 12\n"
        "- Credential requests served: 4,318\n"
        "- Consent prompts shown: 57, approved: 49\n")),
}


def demo_bucket_from_env(environ: Mapping[str, str] = os.environ) -> str:
    """The demo bucket's name from `OSS_BUCKET`; fails loudly on a name OSS would not accept."""
    name = environ.get("OSS_BUCKET", "").strip() or DEFAULT_DEMO_BUCKET
    if BUCKET_NAME.fullmatch(name) is None:
        raise LocalCloudSettingsError(f"OSS_BUCKET='{name}' is not a valid OSS bucket name: use 3 to 63 characters "
                                      "of a-z, 0-9 and '-', starting and ending with a letter or digit.")
    return name


def _remembered(store: Store) -> list[str]:
    return json.loads(store.meta(_META_KEY) or "[]")


def remember_demo_bucket(store: Store, name: str) -> None:
    """Record a demo bucket so it is seeded now and after every reset."""
    with store.locked():
        names = _remembered(store)
        if name not in names:
            store.set_meta(_META_KEY, json.dumps([*names, name]))


def ensure_demo_buckets(store: Store, now: float) -> None:
    """Create (and fill) each remembered demo bucket that does not exist, e.g. after a reset."""
    account = store.meta("account_id") or ""
    with store.locked():  # two first requests after a reset must not both seed
        for name in _remembered(store):
            if store.get(BUCKET, account, name) is None:
                _seed(store, account, name, now)


def _seed(store: Store, account: str, bucket: str, now: float) -> None:
    create_bucket(store, account, bucket, now)
    for key, (content_type, text) in _TEXT_FILES.items():
        put_object(store, account, bucket, key, text.encode(), content_type, {}, now)
    # One binary file, so a tool can show how it reports content it cannot print.
    put_object(store, account, bucket, "images/logo.png", _tiny_png(), "image/png", {}, now)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _tiny_png() -> bytes:
    """A valid 2x2 RGB PNG, built here rather than shipped as a binary file."""
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)  # width, height, 8-bit depth, RGB, defaults
    rows = b"\x00\xff\x66\x00\x00\x66\xff" * 2  # each row: filter byte 0, then two RGB pixels
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", zlib.compress(rows))
            + _png_chunk(b"IEND", b""))
