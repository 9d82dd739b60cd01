"""OSS's path-style routes, `/{bucket}/{key}`, which go last in localcloud's route list.

The bucket segment only matches valid OSS bucket names (3-63 of a-z, 0-9, '-'), and never the first
segment of another localcloud route: `_localcloud` is not a valid name anyway, and `oauth`, `oauth2`,
`mcp` and `svc` are excluded by the converter. So a request for, say, `PUT /oauth/aliyun/token` still
gets that route's 405 instead of being taken for an object upload.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from localcloud.oss import handlers
from localcloud.oss.errors import EntityTooLarge, InternalError, InvalidArgument, OssError, error_response
from localcloud.oss.models import BUCKET_NAME, MAX_OBJECT_BYTES
from localcloud.oss.request import OssRequest
from localcloud.oss.seed import demo_bucket_from_env, ensure_demo_buckets, remember_demo_bucket
from localcloud.store import Store
from web.bodies import read_body

__all__ = ["RESERVED_PREFIXES", "oss_routes"]

log = logging.getLogger("localcloud.oss")

# First path segments of other localcloud routes (present or planned) that happen to be valid bucket names.
RESERVED_PREFIXES = ("oauth", "oauth2", "mcp", "svc")
# An oversized upload is read (and dropped) up to this much, so the client gets our error instead of a
# reset connection; beyond it the connection is simply closed.
_DRAIN_LIMIT = 4 * MAX_OBJECT_BYTES


class _BucketConvertor(Convertor[str]):
    regex = rf"(?!(?:{'|'.join(RESERVED_PREFIXES)})(?![a-z0-9-])){BUCKET_NAME.pattern}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


class _KeyConvertor(Convertor[str]):
    regex = r"[\s\S]*"  # unlike `path`, also matches keys holding a newline (%0A)

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("oss_bucket", _BucketConvertor())
register_url_convertor("oss_key", _KeyConvertor())


async def _read_body(request: Request) -> bytes:
    """The upload, or EntityTooLarge once it passes MAX_OBJECT_BYTES (read on to _DRAIN_LIMIT, so the client can
    read the answer); InvalidArgument when it ends before its declared length."""
    body = await read_body(request, MAX_OBJECT_BYTES, drain_to=_DRAIN_LIMIT)
    if body is None:
        raise EntityTooLarge(f"Your proposed upload exceeds localcloud's maximum object size of {MAX_OBJECT_BYTES} "
                             "bytes.", MaxSizeAllowed=str(MAX_OBJECT_BYTES))
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and len(body) < int(declared):
        raise InvalidArgument("The request body ended before its declared length.")
    return body


async def _read(request: Request) -> OssRequest:
    body = await _read_body(request) if request.method == "PUT" else b""
    headers = {name.lower(): value for name, value in request.headers.items()}
    return OssRequest(request.method, request.path_params["bucket"], request.path_params["key"],
                      tuple(request.query_params.multi_items()), headers, body)


def oss_routes(store: Store, clock: Callable[[], float]) -> list[Route]:
    """`GET|HEAD|PUT /{bucket}/{key}` (objects; an empty key addresses the bucket); seeds the demo bucket."""
    remember_demo_bucket(store, demo_bucket_from_env())
    ensure_demo_buckets(store, clock())

    async def endpoint(request: Request) -> Response:
        request_id = secrets.token_hex(12).upper()  # OSS's request ids are 24 upper-case hex digits
        host = request.headers.get("host", "localcloud")
        try:
            oss_request = await _read(request)
            response = await run_in_threadpool(handlers.dispatch, store, oss_request, clock())
        except OssError as error:
            response = error_response(error, request_id, f"{request.path_params['bucket']}.{host}",
                                      head=request.method == "HEAD")
        except Exception:  # a bug of ours: log it with the request id only, never send the traceback
            log.exception("internal error in OSS request %s", request_id)
            response = error_response(InternalError("We encountered an internal error. Please try again."),
                                      request_id, host, head=request.method == "HEAD")
        response.headers["x-oss-request-id"] = request_id
        return response

    return [Route("/{bucket:oss_bucket}/{key:oss_key}", endpoint, methods=["GET", "HEAD", "PUT"])]
