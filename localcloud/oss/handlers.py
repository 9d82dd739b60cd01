"""The OSS operations localcloud emulates, dispatched through a table by method and addressing.

RAM actions checked for STS callers (resource `acs:oss:*:<account>:<bucket>[/<key>]`):

* GetObject  → `oss:GetObject`
* HeadObject → `oss:GetObject`, as OSS documents for HeadObject and GetObjectMeta ("to query object
  metadata, you must have the oss:GetObject permission"), so a read-only role can also stat files;
  there is no separate `oss:GetObjectMeta` check.
* PutObject  → `oss:PutObject`
* ListObjects (v1) and ListObjectsV2 → `oss:ListObjects` on the bucket itself.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass

from starlette.responses import Response

from localcloud.oss import checksums, listing, models
from localcloud.oss.auth import authenticate, authorize, bucket_arn, object_arn
from localcloud.oss.errors import InvalidArgument, InvalidDigest, NotImplementedByLocalCloud
from localcloud.oss.request import OssRequest
from localcloud.oss.responses import list_result_xml, object_headers
from localcloud.oss.seed import ensure_demo_buckets
from localcloud.oss.signing import V1_SUBRESOURCES
from localcloud.store import AccessKey, Store

__all__ = ["OPERATIONS", "Operation", "dispatch"]

Handler = Callable[[Store, OssRequest, AccessKey, float], Response]

# GetObject's query parameters that override response headers, as OSS documents them.
_RESPONSE_OVERRIDES = {
    "response-content-type": "content-type",
    "response-content-language": "content-language",
    "response-expires": "expires",
    "response-cache-control": "cache-control",
    "response-content-disposition": "content-disposition",
    "response-content-encoding": "content-encoding",
}
_DEFAULT_CONTENT_TYPE = "application/octet-stream"


def _header_value(name: str, value: str) -> str:
    """A query value fit to echo as a header: Latin-1 without control characters (no header injection), and without
    surrounding spaces, which HTTP does not allow in a field value (the server would drop the connection instead)."""
    if not all(" " <= char <= "\xff" and char != "\x7f" for char in value):
        raise InvalidArgument(f"{name} must be printable Latin-1 text.", name, value[:64].encode().hex())
    return value.strip(" ")


def get_object(store: Store, request: OssRequest, key: AccessKey, now: float) -> Response:
    """GetObject: the whole object (a Range header is ignored, as OSS does for ranges it cannot serve)."""
    stored = models.find_object(store, key.account_id, request.bucket, request.key)
    headers = object_headers(stored)
    query = request.query_dict
    headers.update({header: _header_value(name, query[name]) for name, header in _RESPONSE_OVERRIDES.items()
                    if name in query})
    return Response(models.read_body(store, key.account_id, stored), headers=headers)


def head_object(store: Store, request: OssRequest, key: AccessKey, now: float) -> Response:
    """HeadObject (and GetObjectMeta, `?objectMeta`): GetObject's headers without the body."""
    stored = models.find_object(store, key.account_id, request.bucket, request.key)
    return Response(headers={**object_headers(stored), "content-length": str(stored.size)})


def put_object(store: Store, request: OssRequest, key: AccessKey, now: float) -> Response:
    """PutObject: create or overwrite, answering the ETag and CRC oss2 checks against its own."""
    body = request.body
    declared_md5 = request.headers.get("content-md5")
    if declared_md5 is not None and not hmac.compare_digest(declared_md5.encode(),
                                                            checksums.content_md5(body).encode()):
        raise InvalidDigest("The Content-MD5 you specified is not valid.", Key=request.key)
    user_meta = {name: value for name, value in request.headers.items() if name.startswith("x-oss-meta-")}
    content_type = request.headers.get("content-type") or _DEFAULT_CONTENT_TYPE
    stored = models.put_object(store, key.account_id, request.bucket, request.key, body, content_type, user_meta,
                               now)
    return Response(headers={"etag": f'"{stored.etag}"', "x-oss-hash-crc64ecma": str(stored.crc64),
                             "content-md5": checksums.content_md5(body)})


def list_objects(store: Store, request: OssRequest, key: AccessKey, now: float) -> Response:
    """ListObjects (v1) or, with `list-type=2`, ListObjectsV2."""
    params = listing.list_params(request.query_dict)
    page = listing.list_page(models.list_objects(store, key.account_id, request.bucket), params)
    body = list_result_xml(request.bucket, key.account_id, params, page)
    return Response(body, media_type="application/xml")


@dataclass(frozen=True)
class Operation:
    """One OSS API: its RAM action, the signed subresources it accepts, and its handler."""

    name: str
    action: str
    handler: Handler
    subresources: frozenset[str] = frozenset()

    def resource(self, account: str, request: OssRequest) -> str:
        if request.key:
            return object_arn(account, request.bucket, request.key)
        return bucket_arn(account, request.bucket)


# Keyed by (method, object-level?): `/bucket/` addresses the bucket, `/bucket/key` an object.
OPERATIONS: dict[tuple[str, bool], Operation] = {
    ("GET", True): Operation("GetObject", "oss:GetObject", get_object, frozenset(_RESPONSE_OVERRIDES)),
    ("HEAD", True): Operation("HeadObject", "oss:GetObject", head_object, frozenset({"objectMeta"})),
    ("PUT", True): Operation("PutObject", "oss:PutObject", put_object),
    ("GET", False): Operation("ListObjects", "oss:ListObjects", list_objects, frozenset({"continuation-token"})),
}


def _operation(request: OssRequest) -> Operation:
    operation = OPERATIONS.get((request.method, bool(request.key)))
    allowed = operation.subresources if operation else frozenset()
    # Another subresource (?acl, ?uploads, ?tagging...) would make this a different OSS API.
    unsupported = sorted({name for name, _ in request.query if name in V1_SUBRESOURCES} - allowed)
    if operation is None or unsupported:
        what = f"{request.method} {'object' if request.key else 'bucket'}"
        what += f" ?{unsupported[0]}" if unsupported else ""
        raise NotImplementedByLocalCloud(f"localcloud does not implement {what}: it emulates GetObject, HeadObject, "
                                         "PutObject, ListObjects and ListObjectsV2.")
    return operation


def dispatch(store: Store, request: OssRequest, now: float) -> Response:
    """Authenticate, authorize and run one request (sync: it reads and writes SQLite)."""
    ensure_demo_buckets(store, now)
    operation = _operation(request)
    if request.key:
        models.check_key(request.key)
    key = authenticate(store, request, now)
    authorize(store, key, operation.action, operation.resource(key.account_id, request))
    models.find_bucket(store, key.account_id, request.bucket)
    return operation.handler(store, request, key, now)
