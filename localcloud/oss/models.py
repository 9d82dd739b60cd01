"""Buckets and objects in the Store: one document per bucket, per object's metadata, and per object's bytes.

Metadata and bytes are separate documents so listing a bucket never decodes object contents. Bytes are
base64 in JSON, which is fine for the small demo objects localcloud is for (capped at MAX_OBJECT_BYTES).
"""

from __future__ import annotations

import base64
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from localcloud.oss import checksums
from localcloud.oss.errors import InvalidObjectName, NoSuchBucket, NoSuchKey
from localcloud.store import Store

__all__ = [
    "BUCKET",
    "BUCKET_NAME",
    "MAX_OBJECT_BYTES",
    "OBJECT",
    "OBJECT_BODY",
    "StoredObject",
    "check_key",
    "create_bucket",
    "find_bucket",
    "find_object",
    "list_objects",
    "put_object",
    "read_body",
]

BUCKET, OBJECT, OBJECT_BODY = "oss.bucket", "oss.object", "oss.object_body"
# OSS's bucket naming rule: 3-63 characters of a-z, 0-9 and "-", starting and ending with a letter or digit.
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
MAX_OBJECT_BYTES = 5 * 1024 * 1024  # localcloud's cap, not OSS's (5 GB): objects live in SQLite as base64
_MAX_KEY_BYTES = 1023


@dataclass(frozen=True)
class StoredObject:
    """An object's metadata as HEAD and GET report it."""

    bucket: str
    key: str
    size: int
    etag: str  # MD5 hex, upper-case, without quotes
    crc64: int
    content_type: str
    last_modified: int  # POSIX seconds: HTTP dates carry no fractions
    user_meta: dict[str, str] = field(default_factory=dict)  # x-oss-meta-* headers, names lower-case


def _object_name(bucket: str, key: str) -> str:
    return f"{bucket}/{key}"


def check_key(key: str) -> None:
    """Reject keys OSS does not allow: empty, over 1023 UTF-8 bytes, or starting with / or \\."""
    if not key or len(key.encode("utf-8", "surrogatepass")) > _MAX_KEY_BYTES:
        raise InvalidObjectName("The object key must be 1 to 1023 bytes of UTF-8.", Key=key[:256])
    if key[0] in "/\\":
        raise InvalidObjectName("The object key must not start with / or \\.", Key=key[:256])


def create_bucket(store: Store, account: str, name: str, now: float, region: str = "") -> bool:
    """Create an empty bucket; False if it exists."""
    return store.insert(BUCKET, account, name, {"Name": name, "CreationDate": int(now), "Region": region})


def find_bucket(store: Store, account: str, name: str) -> dict[str, Any]:
    """A bucket's document, or NoSuchBucket."""
    bucket = store.get(BUCKET, account, name)
    if bucket is None:
        raise NoSuchBucket("The specified bucket does not exist.", BucketName=name)
    return bucket


def find_object(store: Store, account: str, bucket: str, key: str) -> StoredObject:
    """An object's metadata, or NoSuchKey."""
    doc = store.get(OBJECT, account, _object_name(bucket, key))
    if doc is None:
        raise NoSuchKey("The specified key does not exist.", Key=key)
    return StoredObject(**doc)


def read_body(store: Store, account: str, stored: StoredObject) -> bytes:
    """An object's bytes (an object whose bytes went missing reads as NoSuchKey)."""
    doc = store.get(OBJECT_BODY, account, _object_name(stored.bucket, stored.key))
    if doc is None:
        raise NoSuchKey("The specified key does not exist.", Key=stored.key)
    return base64.b64decode(doc["Data"])


def put_object(store: Store, account: str, bucket: str, key: str, data: bytes, content_type: str,
               user_meta: dict[str, str], now: float) -> StoredObject:
    """Create or overwrite an object."""
    stored = StoredObject(bucket, key, len(data), checksums.etag(data), checksums.crc64_ecma(data), content_type,
                          int(now), dict(user_meta))
    name = _object_name(bucket, key)
    with store.locked():  # metadata and bytes change together
        _upsert(store, OBJECT_BODY, account, name, {"Data": base64.b64encode(data).decode()})
        _upsert(store, OBJECT, account, name, asdict(stored))
    return stored


def _upsert(store: Store, kind: str, account: str, name: str, doc: dict[str, Any]) -> None:
    if not store.insert(kind, account, name, doc):
        store.replace(kind, account, name, doc)


def list_objects(store: Store, account: str, bucket: str) -> list[StoredObject]:
    """Every object of a bucket, sorted by key (code-point order is UTF-8 byte order, as OSS sorts)."""
    objects = [StoredObject(**doc) for doc in store.list(OBJECT, account) if doc["bucket"] == bucket]
    return sorted(objects, key=lambda o: o.key)
